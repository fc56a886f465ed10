package io.tiergate.proxy.support;

import io.netty.buffer.Unpooled;
import io.netty.handler.codec.http2.DefaultHttp2HeadersDecoder;
import io.netty.handler.codec.http2.Http2Exception;
import io.netty.handler.codec.http2.Http2Headers;

import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.OutputStream;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;

/**
 * An HTTP/2 client over cleartext with prior knowledge that writes frames by hand, so a test can send what no
 * real client library would: a space in :path, a :scheme of its choosing, CONNECT without :authority, a body with
 * no content-length. HPACK on the way out is literal fields only (no table, no Huffman); responses are decoded with
 * Netty's HPACK decoder.
 */
public final class H2Client implements AutoCloseable {
    /** How a stream ended: the :status (0 when none came), an RST_STREAM code (-1 when none), GOAWAY or EOF seen. */
    public record Outcome(int status, long resetCode, boolean connectionClosed, String body) {
    }

    private final Socket socket;
    private final DataInputStream in;
    private final OutputStream out;
    private final DefaultHttp2HeadersDecoder decoder = new DefaultHttp2HeadersDecoder(false);

    /** HTTP/2 with prior knowledge over cleartext (h2c). */
    public H2Client(int port) throws IOException {
        this(new Socket("127.0.0.1", port));
    }

    /** HTTP/2 over TLS, negotiated by ALPN; the server's certificate is not checked (tests use self-signed ones). */
    public static H2Client tls(int port) throws IOException {
        try {
            javax.net.ssl.SSLContext ctx = javax.net.ssl.SSLContext.getInstance("TLS");
            ctx.init(null, new javax.net.ssl.TrustManager[] {new javax.net.ssl.X509TrustManager() {
                @Override
                public void checkClientTrusted(java.security.cert.X509Certificate[] c, String a) {
                }

                @Override
                public void checkServerTrusted(java.security.cert.X509Certificate[] c, String a) {
                }

                @Override
                public java.security.cert.X509Certificate[] getAcceptedIssuers() {
                    return new java.security.cert.X509Certificate[0];
                }
            }}, null);
            javax.net.ssl.SSLSocket s = (javax.net.ssl.SSLSocket) ctx.getSocketFactory().createSocket("127.0.0.1", port);
            javax.net.ssl.SSLParameters p = s.getSSLParameters();
            p.setApplicationProtocols(new String[] {"h2"});
            s.setSSLParameters(p);
            s.startHandshake();
            if (!"h2".equals(s.getApplicationProtocol())) {
                throw new IOException("the server did not negotiate h2 by ALPN: " + s.getApplicationProtocol());
            }
            return new H2Client(s);
        } catch (java.security.GeneralSecurityException e) {
            throw new IOException(e);
        }
    }

    private H2Client(Socket socket) throws IOException {
        this.socket = socket;
        socket.setSoTimeout(10_000);
        in = new DataInputStream(socket.getInputStream());
        out = socket.getOutputStream();
        out.write("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".getBytes(StandardCharsets.ISO_8859_1));
        frame(4, 0, 0, new byte[0]); // SETTINGS, defaults
    }

    /** Sends HEADERS (END_HEADERS; END_STREAM when {@code endStream}) with the fields as name/value pairs in order. */
    public void headers(int stream, boolean endStream, String... nameValues) throws IOException {
        ByteArrayOutputStream block = new ByteArrayOutputStream();
        for (int i = 0; i + 1 < nameValues.length; i += 2) {
            block.write(0x00); // literal header field without indexing, new name
            string(block, nameValues[i]);
            string(block, nameValues[i + 1]);
        }
        frame(1, 0x4 | (endStream ? 0x1 : 0), stream, block.toByteArray());
    }

    public void data(int stream, boolean endStream, byte[] bytes) throws IOException {
        frame(0, endStream ? 0x1 : 0, stream, bytes);
    }

    /** Reads frames until {@code stream} ends (END_STREAM or RST_STREAM) or the connection goes away. */
    public Outcome await(int stream) throws IOException {
        int status = 0;
        ByteArrayOutputStream body = new ByteArrayOutputStream();
        ByteArrayOutputStream block = null;
        boolean blockEnds = false;
        while (true) {
            int len;
            int type;
            int flags;
            int id;
            byte[] payload;
            try {
                len = in.readUnsignedByte() << 16 | in.readUnsignedByte() << 8 | in.readUnsignedByte();
                type = in.readUnsignedByte();
                flags = in.readUnsignedByte();
                id = in.readInt() & 0x7fffffff;
                payload = in.readNBytes(len);
                if (payload.length < len) {
                    throw new EOFException();
                }
            } catch (EOFException | SocketTimeoutException | java.net.SocketException e) {
                return new Outcome(status, -1, true, body.toString(StandardCharsets.UTF_8));
            }
            if (type == 4 && (flags & 1) == 0) {
                frame(4, 1, 0, new byte[0]); // ack the server's SETTINGS
            } else if (type == 7) {
                return new Outcome(status, -1, true, body.toString(StandardCharsets.UTF_8));
            } else if (id == stream && type == 3) {
                long code = ((payload[0] & 0xffL) << 24) | ((payload[1] & 0xff) << 16) | ((payload[2] & 0xff) << 8)
                        | (payload[3] & 0xff);
                return new Outcome(status, code, false, body.toString(StandardCharsets.UTF_8));
            } else if (id == stream && (type == 1 || type == 9)) {
                if (type == 1) {
                    block = new ByteArrayOutputStream();
                    blockEnds = (flags & 1) != 0;
                    int off = (flags & 0x8) != 0 ? 1 : 0; // PADDED
                    int pad = off == 1 ? payload[0] & 0xff : 0;
                    if ((flags & 0x20) != 0) { // PRIORITY
                        off += 5;
                    }
                    block.write(payload, off, payload.length - off - pad);
                } else {
                    block.write(payload, 0, payload.length);
                }
                if ((flags & 0x4) != 0) {
                    Http2Headers h = decode(stream, block.toByteArray());
                    CharSequence s = h.status();
                    if (s != null && status < 200) {
                        status = Integer.parseInt(s.toString());
                    }
                    if (blockEnds) {
                        return new Outcome(status, -1, false, body.toString(StandardCharsets.UTF_8));
                    }
                }
            } else if (id == stream && type == 0) {
                body.write(payload, 0, payload.length);
                if ((flags & 1) != 0) {
                    return new Outcome(status, -1, false, body.toString(StandardCharsets.UTF_8));
                }
            }
        }
    }

    private Http2Headers decode(int stream, byte[] block) throws IOException {
        try {
            return decoder.decodeHeaders(stream, Unpooled.wrappedBuffer(block));
        } catch (Http2Exception e) {
            throw new IOException("cannot decode the response headers: " + e.getMessage(), e);
        }
    }

    private void frame(int type, int flags, int stream, byte[] payload) throws IOException {
        byte[] h = {(byte) (payload.length >> 16), (byte) (payload.length >> 8), (byte) payload.length, (byte) type,
                (byte) flags, (byte) (stream >>> 24), (byte) (stream >> 16), (byte) (stream >> 8), (byte) stream};
        out.write(h);
        out.write(payload);
        out.flush();
    }

    /** An HPACK string literal, no Huffman: a 7-bit-prefix length, then the bytes. */
    private static void string(ByteArrayOutputStream b, String s) {
        byte[] v = s.getBytes(StandardCharsets.ISO_8859_1);
        int n = v.length;
        if (n < 127) {
            b.write(n);
        } else {
            b.write(127);
            n -= 127;
            while (n >= 128) {
                b.write((n & 0x7f) | 0x80);
                n >>>= 7;
            }
            b.write(n);
        }
        b.write(v, 0, v.length);
    }

    @Override
    public void close() throws IOException {
        socket.close();
    }
}
