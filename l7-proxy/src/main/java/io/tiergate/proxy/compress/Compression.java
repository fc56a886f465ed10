package io.tiergate.proxy.compress;

import io.vertx.core.MultiMap;
import io.vertx.core.buffer.Buffer;

import java.util.Locale;

/**
 * Decides whether a response is gzipped and rewrites its headers when it is. Any response that could be gzipped
 * gets {@code Vary: Accept-Encoding}, gzipped or not, so that a cache downstream (or ours) keeps the identity and
 * gzip variants apart.
 */
public final class Compression {
    private Compression() {
    }

    /** The client's weight for gzip per its Accept-Encoding (RFC 9110 §12.5.3); 0 means it refuses gzip. */
    public static double gzipQuality(String acceptEncoding) {
        if (acceptEncoding == null) {
            return 0;
        }
        double star = -1;
        for (String part : acceptEncoding.split(",")) {
            String[] p = part.split(";");
            String coding = p[0].trim().toLowerCase(Locale.ROOT);
            double q = 1;
            for (int i = 1; i < p.length; i++) {
                String param = p[i].trim().toLowerCase(Locale.ROOT);
                if (param.startsWith("q=")) {
                    try {
                        q = Double.parseDouble(param.substring(2).trim());
                    } catch (NumberFormatException e) {
                        q = 0;
                    }
                }
            }
            if (coding.equals("gzip") || coding.equals("x-gzip")) {
                return q;
            }
            if (coding.equals("*")) {
                star = q;
            }
        }
        return Math.max(star, 0);
    }

    /** Eligible for gzip at all (type, size, status, not already encoded, not a range, no no-transform). */
    public static boolean eligible(GzipConfig config, String method, int status, MultiMap headers) {
        if (!config.enabled() || status != 200 || "HEAD".equalsIgnoreCase(method)) {
            return false;
        }
        String ce = headers.get("Content-Encoding");
        if ((ce != null && !ce.equalsIgnoreCase("identity")) || headers.contains("Content-Range")) {
            return false;
        }
        String cc = headers.get("Cache-Control");
        if (cc != null && cc.toLowerCase(Locale.ROOT).contains("no-transform")) {
            return false;
        }
        if (!config.matchesType(headers.get("Content-Type"))) {
            return false;
        }
        String len = headers.get("Content-Length");
        if (len != null) {
            try {
                return Long.parseLong(len.trim()) >= config.minLength();
            } catch (NumberFormatException e) {
                return false;
            }
        }
        return true;
    }

    /**
     * Applies the decision to the headers: always adds Vary when eligible; when the client accepts gzip sets
     * Content-Encoding, drops Content-Length (the length changes) and weakens a strong ETag (the bytes differ).
     * Returns true when the body must be gzipped.
     */
    public static boolean prepare(GzipConfig config, String method, MultiMap requestHeaders, int status,
                                  MultiMap responseHeaders) {
        if (!eligible(config, method, status, responseHeaders)) {
            return false;
        }
        addVary(responseHeaders);
        if (gzipQuality(requestHeaders.get("Accept-Encoding")) <= 0) {
            return false;
        }
        responseHeaders.set("Content-Encoding", "gzip");
        responseHeaders.remove("Content-Length");
        String etag = responseHeaders.get("ETag");
        if (etag != null && !etag.startsWith("W/")) {
            responseHeaders.set("ETag", "W/" + etag);
        }
        return true;
    }

    /** For buffered responses: headers and body in one go (Content-Length set to the gzipped length). */
    public static Buffer apply(GzipConfig config, String method, MultiMap requestHeaders, int status,
                               MultiMap responseHeaders, Buffer body) {
        if (!prepare(config, method, requestHeaders, status, responseHeaders)) {
            return body;
        }
        Buffer gz = GzipEncoder.gzip(body, config.level());
        responseHeaders.set("Content-Length", Integer.toString(gz.length()));
        return gz;
    }

    private static void addVary(MultiMap h) {
        for (String v : h.getAll("Vary")) {
            for (String n : v.split(",")) {
                String t = n.trim();
                if (t.equalsIgnoreCase("Accept-Encoding") || t.equals("*")) {
                    return;
                }
            }
        }
        h.add("Vary", "Accept-Encoding");
    }
}
