package io.tiergate.proxy.forward;

import io.tiergate.proxy.ProxyNode;
import io.tiergate.proxy.support.Origin;
import io.tiergate.proxy.support.Proxies;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.WebSocket;
import io.vertx.core.http.WebSocketClient;
import io.vertx.core.http.WebSocketConnectOptions;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.zip.Deflater;
import java.util.zip.Inflater;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/** WebSocket upgrades through the proxy to a real Vert.x WebSocket origin, and their survival across a reload. */
@Timeout(30)
class WebSocketTest {
    Vertx vertx;
    HttpServer origin;
    WebSocketClient wsClient;
    ProxyNode proxy;
    final BlockingQueue<String> originSawHeaders = new LinkedBlockingQueue<>();

    @BeforeEach
    void start() {
        vertx = io.tiergate.shared.runtime.Runtimes.vertx();
        origin = Origin.await(vertx.createHttpServer().requestHandler(r -> r.response().end("plain")).webSocketHandler(ws -> {
            originSawHeaders.add("path=" + ws.path() + " xff=" + ws.headers().get("X-Forwarded-For"));
            ws.textMessageHandler(m -> ws.writeTextMessage("echo:" + m));
        }).listen(0, "127.0.0.1"));
        wsClient = vertx.createWebSocketClient();
    }

    @AfterEach
    void stop() {
        Origin.await(proxy.shutdown(Duration.ZERO));
        Origin.await(vertx.close());
    }

    private String config(String upstreamName) {
        return """
                access_log: {format: off}
                timeouts: {client_header: 500ms, keepalive: 500ms}
                listeners: [{address: 127.0.0.1:0}]
                upstreams: {%s: {servers: ["127.0.0.1:%d"]}}
                servers: [{default: true, locations: [{prefix: /, upstream: %s}]}]
                """.formatted(upstreamName, origin.actualPort(), upstreamName);
    }

    @Test
    void aWebSocketPassesThroughAndSurvivesAReloadThatReplacesItsUpstreamGroup() throws Exception {
        proxy = Proxies.start(vertx, config("ws"));
        int port = proxy.listenPorts().get(0);
        BlockingQueue<String> got = new LinkedBlockingQueue<>();
        WebSocket ws = Origin.await(wsClient.connect(new WebSocketConnectOptions().setHost("127.0.0.1").setPort(port)
                .setURI("/chat?room=1")));
        ws.textMessageHandler(got::add);
        ws.writeTextMessage("hello");
        assertThat(got.poll(5, TimeUnit.SECONDS)).as("a message goes to the origin and its answer comes back")
                .isEqualTo("echo:hello");
        assertThat(originSawHeaders.poll(5, TimeUnit.SECONDS)).as("the origin sees the path and forwarding headers")
                .isEqualTo("path=/chat xff=127.0.0.1");

        Origin.await(proxy.reload(Proxies.config(config("ws2")))); // the old group is closed once drained
        Thread.sleep(300);
        ws.writeTextMessage("after reload");
        assertThat(got.poll(5, TimeUnit.SECONDS)).as("the open WebSocket keeps working after a reload")
                .isEqualTo("echo:after reload");
        assertThat(ws.isClosed()).isFalse();
        Thread.sleep(1000); // ConnectionGuard removed itself at the 101: an open WebSocket is not a keep-alive wait
        ws.writeTextMessage("still");
        assertThat(got.poll(5, TimeUnit.SECONDS)).isEqualTo("echo:still");
        Origin.await(ws.close());
    }

    @Test
    void aWebSocketToADeadUpstreamGets502() {
        proxy = Proxies.start(vertx, """
                access_log: {format: off}
                listeners: [{address: 127.0.0.1:0}]
                upstreams: {ws: {servers: ["127.0.0.1:%d"]}}
                servers: [{default: true, locations: [{prefix: /, upstream: ws}]}]
                """.formatted(Proxies.deadPort()));
        int port = proxy.listenPorts().get(0);
        Throwable t = null;
        try {
            Origin.await(wsClient.connect(new WebSocketConnectOptions().setHost("127.0.0.1").setPort(port).setURI("/")));
        } catch (RuntimeException e) {
            t = e;
        }
        assertThat(t).as("the handshake fails").isNotNull();
        assertThat(String.valueOf(t.getMessage()) + t.getCause()).as("with the proxy's 502").contains("502");
    }

    /**
     * permessage-deflate (RFC 7692) between the client and the proxy, whether the upgrade is a connection's first
     * request or follows a plain one: the proxy keeps the extension handler out of a connection until a request asks
     * for an upgrade, and must put it back in time for the handshake.
     */
    @Test
    void aClientOfferingPermessageDeflateGetsItOnAFirstRequestAndAfterAPlainOne() throws Exception {
        proxy = Proxies.start(vertx, config("ws"));
        int port = proxy.listenPorts().get(0);
        try (Socket first = new Socket("127.0.0.1", port)) {
            first.setSoTimeout(10_000);
            compressedEcho(first, "upgrade as the first request");
        }
        try (Socket later = new Socket("127.0.0.1", port)) {
            later.setSoTimeout(10_000);
            for (int i = 0; i < 2; i++) {
                later.getOutputStream().write("GET /plain HTTP/1.1\r\nHost: a\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
                String head = readHead(later.getInputStream());
                assertThat(head).startsWith("HTTP/1.1 200").containsIgnoringCase("content-length: 5");
                assertThat(new String(later.getInputStream().readNBytes(5), StandardCharsets.US_ASCII)).isEqualTo("plain");
            }
            compressedEcho(later, "upgrade after two plain requests");
        }
    }

    private static void compressedEcho(Socket s, String text) throws IOException {
        OutputStream out = s.getOutputStream();
        out.write(("GET /chat HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
                + "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n\r\n")
                .getBytes(StandardCharsets.US_ASCII));
        String head = readHead(s.getInputStream());
        assertThat(head).as("the handshake").startsWith("HTTP/1.1 101");
        assertThat(head.toLowerCase()).as("the extension is accepted").contains("sec-websocket-extensions: permessage-deflate");
        // A compressed text frame (RSV1 set; the deflate stream's 00 00 ff ff tail left off), masked as a client's is.
        byte[] raw = text.getBytes(StandardCharsets.UTF_8);
        Deflater d = new Deflater(Deflater.DEFAULT_COMPRESSION, true);
        d.setInput(raw);
        byte[] buf = new byte[256];
        int n = d.deflate(buf, 0, buf.length, Deflater.SYNC_FLUSH);
        d.end();
        byte[] payload = java.util.Arrays.copyOf(buf, n - 4);
        byte[] mask = {1, 2, 3, 4};
        ByteArrayOutputStream frame = new ByteArrayOutputStream();
        frame.write(0x80 | 0x40 | 0x1);
        frame.write(0x80 | payload.length);
        frame.write(mask);
        for (int i = 0; i < payload.length; i++) {
            frame.write(payload[i] ^ mask[i % 4]);
        }
        out.write(frame.toByteArray());
        DataInputStream in = new DataInputStream(s.getInputStream());
        int b0 = in.readUnsignedByte();
        int len = in.readUnsignedByte() & 0x7f;
        if (len == 126) {
            len = in.readUnsignedShort();
        }
        byte[] body = in.readNBytes(len);
        assertThat(b0 & 0x0f).as("a text frame").isEqualTo(1);
        String answer;
        if ((b0 & 0x40) != 0) { // compressed on the way back too
            Inflater inf = new Inflater(true);
            byte[] whole = java.util.Arrays.copyOf(body, body.length + 4);
            whole[body.length + 2] = (byte) 0xff;
            whole[body.length + 3] = (byte) 0xff;
            inf.setInput(whole);
            byte[] o = new byte[1024];
            try {
                answer = new String(o, 0, inf.inflate(o), StandardCharsets.UTF_8);
            } catch (java.util.zip.DataFormatException e) {
                throw new AssertionError("the answer frame does not inflate", e);
            }
            inf.end();
        } else {
            answer = new String(body, StandardCharsets.UTF_8);
        }
        assertThat(answer).as("the origin's echo of the decompressed message").isEqualTo("echo:" + text);
    }

    private static String readHead(InputStream in) throws IOException {
        StringBuilder b = new StringBuilder();
        while (!b.toString().endsWith("\r\n\r\n")) {
            int c = in.read();
            if (c < 0) {
                throw new IOException("connection closed after: " + b);
            }
            b.append((char) c);
        }
        return b.toString();
    }
}
