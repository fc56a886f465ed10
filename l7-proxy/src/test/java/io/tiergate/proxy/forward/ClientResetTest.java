package io.tiergate.proxy.forward;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import io.tiergate.proxy.ProxyNode;
import io.tiergate.proxy.support.Origin;
import io.tiergate.proxy.support.Proxies;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A client that resets its connection while whole responses (cache hits, which go out with the channel's void
 * promise) wait to be written to it: the connection closes quietly, nothing is logged above INFO, and the proxy goes
 * on serving. Phones and browsers do this all day; an operator must not see an ERROR line for each.
 */
@Timeout(60)
class ClientResetTest {
    static final int BODY = 16 * 1024; // > 128 bytes: the encoder writes head and body as two buffers
    static Vertx vertx;
    static Origin origin;
    static ProxyNode proxy;
    static int port;

    @BeforeAll
    static void start() {
        vertx = io.tiergate.shared.runtime.Runtimes.vertx();
        origin = Origin.start(vertx, "origin", (o, req, body) -> req.response()
                .putHeader("Cache-Control", "max-age=600").end(Buffer.buffer(new byte[BODY])));
        proxy = Proxies.start(vertx, """
                access_log: {format: off}
                listeners: [{address: 127.0.0.1:0}]
                cache: {max_size: 8m}
                upstreams: {app: {servers: [{address: %s}]}}
                servers: [{default: true, locations: [{prefix: /, upstream: app, cache: on}]}]
                """.formatted(origin.address()));
        port = proxy.listenPorts().get(0);
    }

    @AfterAll
    static void stop() {
        Origin.await(proxy.shutdown(Duration.ofSeconds(1)));
        origin.close();
        Origin.await(vertx.close());
    }

    @Test
    void aClientThatResetsWhileItsCacheHitsAreWrittenIsClosedQuietly() throws Exception {
        assertThat(Proxies.raw(port, get(1, true))).startsWith("HTTP/1.1 200"); // stored
        ch.qos.logback.classic.Logger root = (ch.qos.logback.classic.Logger) LoggerFactory
                .getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME);
        ListAppender<ILoggingEvent> logs = new ListAppender<>();
        logs.start();
        root.addAppender(logs);
        try {
            for (int round = 0; round < 5; round++) {
                try (Socket s = new Socket()) {
                    s.setReceiveBufferSize(4096); // a small window: most of the hits wait in the proxy for the client
                    s.connect(new InetSocketAddress("127.0.0.1", port), 5000);
                    s.setSoTimeout(10_000);
                    s.getOutputStream().write(get(2000, false).getBytes(StandardCharsets.US_ASCII));
                    InputStream in = s.getInputStream();
                    assertThat(in.readNBytes(1024)).as("the first hit starts coming").hasSize(1024);
                    Thread.sleep(200);
                    s.setSoLinger(true, 0); // close with a reset, with 30 MB of hits not taken
                }
            }
            Thread.sleep(500);
            assertThat(Proxies.raw(port, get(1, true))).as("the proxy still answers, from its store")
                    .startsWith("HTTP/1.1 200").contains("Age:");
            assertThat(logs.list).filteredOn(e -> e.getLevel().isGreaterOrEqual(Level.WARN))
                    .as("nothing above INFO for clients that reset").isEmpty();
        } finally {
            root.detachAppender(logs);
        }
        assertThat(origin.hits.get()).as("every request after the first was a hit").isEqualTo(1);
    }

    private static String get(int times, boolean close) {
        String one = "GET /obj HTTP/1.1\r\nHost: a\r\n\r\n";
        return one.repeat(times - 1) + (close ? "GET /obj HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n" : one);
    }
}
