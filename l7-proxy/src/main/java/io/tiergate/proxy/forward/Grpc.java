package io.tiergate.proxy.forward;

import io.netty.handler.codec.http.HttpHeaderNames;
import io.vertx.core.MultiMap;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpServerResponse;

import java.nio.charset.StandardCharsets;

/**
 * gRPC's view of errors the proxy itself answers. A gRPC client reads the status from {@code grpc-status}, not from
 * the HTTP status: so, as Envoy does, such a call gets HTTP 200 with {@code grpc-status} and {@code grpc-message} in a
 * trailers-only response (one HEADERS frame that ends the stream) instead of a text body it cannot parse.
 */
public final class Grpc {
    public static final int DEADLINE_EXCEEDED = 4;
    public static final int UNAVAILABLE = 14;

    private Grpc() {
    }

    /** The request is a gRPC call ({@code content-type: application/grpc}, with or without a subtype). */
    public static boolean isGrpc(HttpServerRequest req) {
        String ct = req.getHeader(HttpHeaderNames.CONTENT_TYPE);
        return ct != null && ct.regionMatches(true, 0, "application/grpc", 0, 16)
                && (ct.length() == 16 || ct.charAt(16) == '+' || ct.charAt(16) == ';');
    }

    /** The gRPC code for an HTTP status the proxy answers with (gRPC's HTTP-to-status table; 504 is a deadline). */
    public static int code(int httpStatus) {
        return switch (httpStatus) {
            case 400 -> 13; // INTERNAL
            case 401 -> 16; // UNAUTHENTICATED
            case 403 -> 7; // PERMISSION_DENIED
            case 404 -> 12; // UNIMPLEMENTED
            case 413, 431 -> 8; // RESOURCE_EXHAUSTED
            case 429, 502, 503 -> UNAVAILABLE;
            case 504 -> DEADLINE_EXCEEDED;
            default -> 2; // UNKNOWN
        };
    }

    /** Ends {@code resp} as a trailers-only gRPC error carrying {@code headers} (Via, request id) too. */
    public static void fail(HttpServerResponse resp, MultiMap headers, int httpStatus, String message) {
        resp.headers().setAll(headers);
        resp.setStatusCode(200).putHeader("Content-Type", "application/grpc")
                .putHeader("grpc-status", Integer.toString(code(httpStatus)))
                .putHeader("grpc-message", percentEncode(httpStatus + " " + message))
                .end();
    }

    /** grpc-message is percent-encoded UTF-8: every byte outside printable ASCII, and '%' itself. */
    static String percentEncode(String s) {
        StringBuilder b = new StringBuilder();
        for (byte x : s.getBytes(StandardCharsets.UTF_8)) {
            int c = x & 0xff;
            if (c >= 0x20 && c <= 0x7e && c != '%') {
                b.append((char) c);
            } else {
                b.append('%').append(Character.toUpperCase(Character.forDigit(c >> 4, 16)))
                        .append(Character.toUpperCase(Character.forDigit(c & 0xf, 16)));
            }
        }
        return b.toString();
    }

    /**
     * Whether response trailers can reach this client: always over HTTP/2; over HTTP/1.1 only in a chunked body to a
     * client that said {@code TE: trailers} (RFC 9110 §6.5.1), else they are dropped.
     */
    static boolean clientTakesTrailers(HttpServerRequest req, HttpServerResponse resp) {
        if (req.version() == io.vertx.core.http.HttpVersion.HTTP_2) {
            return true;
        }
        if (req.version() != io.vertx.core.http.HttpVersion.HTTP_1_1 || !resp.isChunked()) {
            return false;
        }
        return asksForTrailers(req);
    }

    /** The client's TE field lists {@code trailers}. */
    static boolean asksForTrailers(HttpServerRequest req) {
        for (String te : req.headers().getAll("TE")) {
            for (String t : te.split(",")) {
                if (t.trim().regionMatches(true, 0, "trailers", 0, 8) && t.trim().length() == 8) {
                    return true;
                }
            }
        }
        return false;
    }
}
