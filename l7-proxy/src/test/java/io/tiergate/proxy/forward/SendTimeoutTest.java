package io.tiergate.proxy.forward;

import io.tiergate.proxy.ProxyNode;
import io.tiergate.proxy.support.Origin;
import io.tiergate.proxy.support.Proxies;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@code timeouts.client_send} (nginx's send_timeout): a client that stops taking a response is disconnected once
 * nothing of what waits for it has been taken for that long; a slow client that keeps taking some is not.
 */
@Timeout(60)
class SendTimeoutTest {
    static final int MB = 1024 * 1024;
    static Vertx vertx;
    static Origin origin;
    static ProxyNode proxy;
    static int port;
    static java.nio.file.Path files;

    @BeforeAll
    static void start() throws IOException {
        files = java.nio.file.Files.createTempDirectory("send-timeout");
        java.nio.file.Files.write(files.resolve("big.bin"), new byte[48 * MB]);
        vertx = io.tiergate.shared.runtime.Runtimes.vertx();
        origin = Origin.start(vertx, "origin", (o, req, body) -> {
            int size = Integer.parseInt(req.getParam("mb")) * MB;
            req.response().putHeader("Content-Length", Integer.toString(size)).end(Buffer.buffer(new byte[size]));
        });
        proxy = Proxies.start(vertx, """
                access_log: {format: off}
                listeners: [{address: 127.0.0.1:0}]
                timeouts: {client_send: 1s}
                upstreams: {app: {servers: [{address: %s}]}}
                servers: [{default: true, locations: [{prefix: /files/, alias: '%s/'}, {prefix: /, upstream: app}]}]
                """.formatted(origin.address(), files));
        port = proxy.listenPorts().get(0);
    }

    @AfterAll
    static void stop() throws IOException {
        Origin.await(proxy.shutdown(Duration.ofSeconds(1)));
        origin.close();
        Origin.await(vertx.close());
        java.nio.file.Files.deleteIfExists(files.resolve("big.bin"));
        java.nio.file.Files.deleteIfExists(files);
    }

    private static Socket connect() throws IOException {
        Socket s = new Socket();
        s.setReceiveBufferSize(32 * 1024); // before connecting: a small window, so the proxy's output waits for us
        s.connect(new InetSocketAddress("127.0.0.1", port), 5000);
        s.setSoTimeout(20_000);
        return s;
    }

    @Test
    void aClientThatStopsReadingIsDisconnectedAfterClientSend() throws Exception {
        assertThat(readThenStop("/big?mb=48")).as("bytes read of the 48 MB response: the proxy closed the connection "
                + "while the client took nothing (without client_send, Vert.x's idle backstop would wait 90 s)")
                .isLessThan(40L * MB);
    }

    @Test
    void aClientThatStopsReadingAStaticFileIsDisconnectedToo() throws Exception {
        // A static file goes out through sendFile, not through the proxy's relay: the guard must watch it as well.
        assertThat(readThenStop("/files/big.bin")).as("bytes read of the 48 MB file: cut while the client took nothing")
                .isLessThan(40L * MB);
    }

    /** GETs {@code path}, reads 256 KB, takes nothing for four times client_send, then reads what is left. */
    private static long readThenStop(String path) throws Exception {
        try (Socket s = connect()) {
            s.getOutputStream().write(("GET " + path + " HTTP/1.1\r\nHost: a\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
            InputStream in = s.getInputStream();
            long got = in.readNBytes(256 * 1024).length;
            Thread.sleep(4000);
            return got + drain(in, 0);
        }
    }

    @Test
    void aSlowClientThatKeepsTakingSomeGetsTheWholeResponse() throws Exception {
        try (Socket s = connect()) {
            s.getOutputStream().write("GET /big?mb=12 HTTP/1.1\r\nHost: a\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
            long t0 = System.nanoTime();
            long got = drain(s.getInputStream(), 400); // 1 MB, then 0.4 s of nothing (less than client_send), ...
            assertThat(got).as("the whole 12 MB response and its head, taken in slow bursts over %d ms",
                    (System.nanoTime() - t0) / 1_000_000).isGreaterThan(12L * MB);
        }
    }

    /** Reads until the connection ends (or is reset); with {@code pauseMs}, pauses that long after every MB. */
    private static long drain(InputStream in, long pauseMs) throws InterruptedException {
        long n = 0;
        long sincePause = 0;
        byte[] b = new byte[64 * 1024];
        try {
            for (int r; (r = in.read(b)) >= 0; ) {
                n += r;
                sincePause += r;
                if (pauseMs > 0 && sincePause >= MB) {
                    sincePause = 0;
                    Thread.sleep(pauseMs);
                }
                if (pauseMs > 0 && n > 12L * MB) {
                    return n; // all of it (the proxy keeps the connection open for the next request)
                }
            }
        } catch (IOException reset) {
            // the proxy closed the connection with bytes we had not read: a reset
        }
        return n;
    }
}
