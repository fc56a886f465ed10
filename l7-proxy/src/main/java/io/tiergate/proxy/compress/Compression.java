package io.tiergate.proxy.compress;

import io.vertx.core.MultiMap;
import io.vertx.core.buffer.Buffer;

import java.util.Locale;

/**
 * Decides whether a response is compressed (br or gzip) and rewrites its headers when it is. Any response that
 * could be compressed gets {@code Vary: Accept-Encoding}, compressed or not, so that a cache downstream (or ours) keeps the identity and
 * gzip variants apart.
 */
public final class Compression {
    private Compression() {
    }

    /** The client's weight for gzip per its Accept-Encoding (RFC 9110 §12.5.3); 0 means it refuses gzip. */
    public static double gzipQuality(String acceptEncoding) {
        return quality(acceptEncoding, Coding.GZIP);
    }

    /** The client's weight for {@code coding} (explicit entry, else {@code *}, else 0); x-gzip counts as gzip. */
    public static double quality(String acceptEncoding, Coding coding) {
        if (acceptEncoding == null) {
            return 0;
        }
        double star = -1;
        for (String part : acceptEncoding.split(",")) {
            String[] p = part.split(";");
            String c = p[0].trim().toLowerCase(Locale.ROOT);
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
            if (c.equals(coding.token()) || (coding == Coding.GZIP && c.equals("x-gzip"))) {
                return q;
            }
            if (c.equals("*")) {
                star = q;
            }
        }
        return Math.max(star, 0);
    }

    /**
     * The coding to send: br when enabled, loadable and weighed at least as high as gzip; else gzip when accepted;
     * else identity.
     */
    public static Coding choose(GzipConfig config, String acceptEncoding) {
        double gz = quality(acceptEncoding, Coding.GZIP);
        if (config.brotli() && BrotliEncoder.available()) {
            double br = quality(acceptEncoding, Coding.BR);
            if (br > 0 && br >= gz) {
                return Coding.BR;
            }
        }
        return gz > 0 ? Coding.GZIP : Coding.IDENTITY;
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
     * Applies the decision to the headers: always adds Vary when eligible; when the client accepts a coding sets
     * Content-Encoding, drops Content-Length (the length changes) and weakens a strong ETag (the bytes differ).
     * Returns true when the body must be encoded (gzip or br).
     */
    public static boolean prepare(GzipConfig config, String method, MultiMap requestHeaders, int status,
                                  MultiMap responseHeaders) {
        return negotiate(config, method, requestHeaders, status, responseHeaders) != Coding.IDENTITY;
    }

    /** As {@link #prepare}, returning the chosen coding (IDENTITY: send as is). */
    public static Coding negotiate(GzipConfig config, String method, MultiMap requestHeaders, int status,
                                   MultiMap responseHeaders) {
        if (!eligible(config, method, status, responseHeaders)) {
            return Coding.IDENTITY;
        }
        addVary(responseHeaders);
        Coding coding = choose(config, requestHeaders.get("Accept-Encoding"));
        if (coding == Coding.IDENTITY) {
            return coding;
        }
        responseHeaders.set("Content-Encoding", coding.token());
        responseHeaders.remove("Content-Length");
        String etag = responseHeaders.get("ETag");
        if (etag != null && !etag.startsWith("W/")) {
            responseHeaders.set("ETag", "W/" + etag);
        }
        return coding;
    }

    /** For buffered responses: headers and body in one go (Content-Length set to the encoded length). */
    public static Buffer apply(GzipConfig config, String method, MultiMap requestHeaders, int status,
                               MultiMap responseHeaders, Buffer body) {
        Coding coding = negotiate(config, method, requestHeaders, status, responseHeaders);
        if (coding == Coding.IDENTITY) {
            return body;
        }
        Buffer encoded = coding == Coding.BR ? BrotliEncoder.brotli(body, config.brotliLevel())
                : GzipEncoder.gzip(body, config.level());
        responseHeaders.set("Content-Length", Integer.toString(encoded.length()));
        return encoded;
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
