package io.tiergate.proxy.forward;

import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelPromise;
import io.netty.channel.CombinedChannelDuplexHandler;
import io.netty.handler.codec.http.HttpDecoderConfig;
import io.netty.handler.codec.http.HttpMessage;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpRequestEncoder;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseDecoder;
import io.netty.util.AsciiString;

import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.function.Function;
import java.util.stream.Stream;

/**
 * The HTTP/1.1 client codec of {@link NettySender}'s origin connections: Netty's request encoder and response
 * decoder, paired as {@code HttpClientCodec} pairs them (a response to HEAD has no body, whatever its Content-Length
 * says), and a decoder that does not allocate what every response repeats. Netty's decoder makes a new String for
 * the status line's three words and a new AsciiString (and its array) for every field name: ~470 bytes of every
 * proxied response. Here the usual ones are shared constants, taken only when the bytes match exactly (case
 * included), so what the client receives is byte for byte what the origin sent.
 *
 * <p>Not for CONNECT (the proxy never forwards one) nor for a connection that switches protocols: WebSocket tunnels
 * go through Vert.x's WebSocket client ({@link WebSocketTunnel}), and TLS, HTTP/2 and streamed bodies through its
 * HTTP client ({@link VertxSender}), each with its own codec.
 */
final class OriginCodec extends CombinedChannelDuplexHandler<OriginCodec.Decoder, OriginCodec.Encoder> {

    OriginCodec(HttpDecoderConfig config) {
        ArrayDeque<HttpMethod> sent = new ArrayDeque<>(2); // the methods of requests awaiting their final response
        init(new Decoder(config, sent), new Encoder(sent));
    }

    static final class Encoder extends HttpRequestEncoder {
        private final ArrayDeque<HttpMethod> sent;

        Encoder(ArrayDeque<HttpMethod> sent) {
            this.sent = sent;
        }

        @Override
        public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) throws Exception {
            if (msg instanceof HttpRequest r) {
                sent.offer(r.method());
            }
            super.write(ctx, msg, promise);
        }
    }

    static final class Decoder extends HttpResponseDecoder {
        private final ArrayDeque<HttpMethod> sent;

        Decoder(HttpDecoderConfig config, ArrayDeque<HttpMethod> sent) {
            super(config);
            this.sent = sent;
        }

        @Override
        protected boolean isContentAlwaysEmpty(HttpMessage msg) {
            if (msg instanceof HttpResponse r && r.status().code() >= 200) {
                // A final response answers the oldest request; an interim (1xx) one answers none.
                HttpMethod method = sent.poll();
                if (HttpMethod.HEAD.equals(method)) {
                    return true;
                }
            }
            return super.isContentAlwaysEmpty(msg);
        }

        @Override
        protected String splitFirstWordInitialLine(byte[] sb, int start, int length) {
            String v = VERSIONS.find(sb, start, length);
            return v != null ? v : super.splitFirstWordInitialLine(sb, start, length);
        }

        @Override
        protected String splitSecondWordInitialLine(byte[] sb, int start, int length) {
            if (length == 3) {
                int code = 0;
                for (int i = start; i < start + 3; i++) {
                    int d = sb[i] - '0';
                    if (d < 0 || d > 9) {
                        return super.splitSecondWordInitialLine(sb, start, length);
                    }
                    code = code * 10 + d;
                }
                if (code >= 100) {
                    return Headers.statusText(code);
                }
            }
            return super.splitSecondWordInitialLine(sb, start, length);
        }

        @Override
        protected String splitThirdWordInitialLine(byte[] sb, int start, int length) {
            String v = REASONS.find(sb, start, length);
            return v != null ? v : super.splitThirdWordInitialLine(sb, start, length);
        }

        @Override
        protected AsciiString splitHeaderName(byte[] sb, int start, int length) {
            AsciiString v = NAMES.find(sb, start, length);
            return v != null ? v : super.splitHeaderName(sb, start, length);
        }
    }

    private static final Table<String> VERSIONS = new Table<>(List.of("HTTP/1.1", "HTTP/1.0"), s -> s);
    private static final Table<String> REASONS = new Table<>(List.of("OK", "Created", "Accepted", "No Content",
            "Partial Content", "Moved Permanently", "Found", "See Other", "Not Modified", "Temporary Redirect",
            "Permanent Redirect", "Bad Request", "Unauthorized", "Forbidden", "Not Found", "Method Not Allowed",
            "Too Many Requests", "Internal Server Error", "Not Implemented", "Bad Gateway", "Service Unavailable",
            "Gateway Timeout", "Continue"), s -> s);
    private static final Table<AsciiString> NAMES = new Table<>(canonicalAndLower(List.of("Server", "Date",
            "Content-Type", "Content-Length", "Connection", "Keep-Alive", "Transfer-Encoding", "Cache-Control",
            "Expires", "Last-Modified", "ETag", "Vary", "Location", "Set-Cookie", "Accept-Ranges",
            "Content-Encoding", "Content-Language", "Content-Range", "Content-Disposition", "Age", "Pragma", "Via",
            "Link", "Trailer", "X-Request-Id", "X-Powered-By", "X-Content-Type-Options", "X-Frame-Options",
            "Strict-Transport-Security", "Content-Security-Policy", "Referrer-Policy",
            "Access-Control-Allow-Origin", "Access-Control-Allow-Credentials", "WWW-Authenticate", "Retry-After",
            "Alt-Svc")), AsciiString::cached);

    private static List<String> canonicalAndLower(List<String> names) {
        return names.stream().flatMap(n -> Stream.of(n, n.toLowerCase(Locale.ROOT)))
                .distinct().toList();
    }

    /** Constants found by their exact bytes: by length, then compared byte by byte (a handful per length). */
    private static final class Table<T> {
        private final byte[][][] bytes = new byte[64][][];
        private final Object[][] values = new Object[64][];

        Table(List<String> texts, Function<String, T> make) {
            for (String t : texts) {
                int n = t.length();
                byte[][] b = bytes[n] == null ? new byte[0][] : bytes[n];
                Object[] v = values[n] == null ? new Object[0] : values[n];
                b = Arrays.copyOf(b, b.length + 1);
                v = Arrays.copyOf(v, v.length + 1);
                b[b.length - 1] = t.getBytes(StandardCharsets.US_ASCII);
                v[v.length - 1] = make.apply(t);
                bytes[n] = b;
                values[n] = v;
            }
        }

        @SuppressWarnings("unchecked")
        T find(byte[] sb, int start, int length) {
            if (length >= bytes.length || bytes[length] == null) {
                return null;
            }
            byte[][] candidates = bytes[length];
            for (int c = 0; c < candidates.length; c++) {
                if (Arrays.equals(candidates[c], 0, length, sb, start, start + length)) {
                    return (T) values[length][c];
                }
            }
            return null;
        }
    }
}
