package io.tiergate.proxy.controls;

import io.tiergate.proxy.ProxyNode;
import io.tiergate.proxy.support.Origin;
import io.tiergate.proxy.support.Proxies;
import io.vertx.core.Vertx;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/** listeners[].max_connections: the connection over the cap is closed at accept, a freed slot is usable again. */
@Timeout(60)
class ListenerCapTest {
    Vertx vertx;
    Origin origin;
    ProxyNode proxy;
    int port;

    @BeforeEach
    void setUp() {
        vertx = io.tiergate.shared.runtime.Runtimes.vertx();
        origin = Origin.start(vertx, "app", (o, req, body) -> req.response().end("ok\n"));
        proxy = Proxies.start(vertx, """
                access_log: {format: off}
                listeners: [{name: web, address: 127.0.0.1:0, max_connections: 3}]
                upstreams: {app: {servers: [%s]}}
                servers:
                  - default: true
                    locations: [{prefix: /, upstream: app}]
                """.formatted(origin.address()));
        port = proxy.listenPorts().get(0);
    }

    @AfterEach
    void tearDown() {
        Origin.await(proxy.shutdown(Duration.ofSeconds(1)));
        origin.close();
        Origin.await(vertx.close());
    }

    @Test
    void listenerCapClosesExcessConnectionsAtAccept() throws Exception {
        List<java.net.Socket> open = new ArrayList<>();
        try {
            for (int i = 0; i < 3; i++) {
                java.net.Socket s = new java.net.Socket("127.0.0.1", port);
                s.setSoTimeout(10_000);
                s.getOutputStream().write("GET / HTTP/1.1\r\nHost: t\r\n\r\n".getBytes());
                byte[] buf = new byte[4096];
                assertThat(new String(buf, 0, s.getInputStream().read(buf))).startsWith("HTTP/1.1 200");
                open.add(s); // kept alive: the connection stays open
            }
            try (java.net.Socket fourth = new java.net.Socket("127.0.0.1", port)) {
                fourth.setSoTimeout(10_000);
                fourth.getOutputStream().write("GET / HTTP/1.1\r\nHost: t\r\n\r\n".getBytes());
                int n;
                byte[] got = new byte[4096];
                try {
                    n = fourth.getInputStream().read(got);
                } catch (java.net.SocketException reset) {
                    n = -1;
                }
                String listening = n < 0 ? "" : new String(new ProcessBuilder("ss", "-ltnH", "sport = :" + port)
                        .start().getInputStream().readAllBytes());
                assertThat(n).as("the 4th connection is closed without an answer, got: %s; listening: %s",
                        n > 0 ? new String(got, 0, n) : "", listening).isEqualTo(-1);
            }
            assertThat(proxy.meterRegistry().find("tiergate_proxy_connections_refused").tag("listener", "web")
                    .counter().count()).isEqualTo(1);
            open.remove(0).close();
            long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
            int status = 0;
            while (System.nanoTime() < deadline && status != 200) {
                try {
                    status = Http.get("127.0.0.1", port, "/").status();
                } catch (RuntimeException | AssertionError closed) {
                    Thread.sleep(50); // the freed slot is counted when the proxy sees the close
                }
            }
            assertThat(status).isEqualTo(200);
        } finally {
            for (java.net.Socket s : open) {
                s.close();
            }
        }
    }
}
