package io.tiergate.proxy.controls;

import io.tiergate.proxy.ProxyNode;
import io.tiergate.proxy.support.Origin;
import io.tiergate.proxy.support.Proxies;
import io.vertx.core.Vertx;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.IOException;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Connections that arrive while the listener is coming up (clients already hammering the port when the proxy starts,
 * as after a restart behind a load balancer) get the same accept-time checks as later ones: none is served past
 * max_connections, none from a peer outside proxy_protocol.trusted.
 */
@Timeout(120)
class AcceptRaceTest {
    private static final int CLIENTS = 6;
    private static final int CONNECTIONS = 60;

    Vertx vertx;
    Origin origin;
    ProxyNode proxy;
    ExecutorService clients;
    final List<Socket> sockets = new CopyOnWriteArrayList<>();
    final java.util.concurrent.atomic.AtomicInteger forwarded = new java.util.concurrent.atomic.AtomicInteger();

    @BeforeEach
    void setUp() {
        vertx = io.tiergate.shared.runtime.Runtimes.vertx();
        origin = Origin.start(vertx, "app", (o, req, body) -> {
            forwarded.incrementAndGet();
            req.response().end("ok\n");
        });
        clients = Executors.newFixedThreadPool(CLIENTS);
    }

    @AfterEach
    void tearDown() throws IOException {
        clients.shutdownNow();
        for (Socket s : sockets) {
            s.close();
        }
        if (proxy != null) {
            Origin.await(proxy.shutdown(Duration.ofSeconds(1)));
        }
        origin.close();
        Origin.await(vertx.close());
    }

    @Test
    void connectionsArrivingAtStartupCountAgainstTheListenerCap() throws Exception {
        int answered = answeredWhileStarting("""
                listeners: [{name: web, address: 127.0.0.1:%d, max_connections: 2}]
                """);
        assertThat(answered).as("connections served with max_connections: 2 (all %d kept open)", CONNECTIONS)
                .isLessThanOrEqualTo(2);
        assertThat(forwarded.get()).as("requests that reached the origin").isLessThanOrEqualTo(2);
    }

    @Test
    void connectionsArrivingAtStartupFromUntrustedPeersAreNeverServed() throws Exception {
        int answered = answeredWhileStarting("""
                listeners: [{name: lb, address: 127.0.0.1:%d, proxy_protocol: {trusted: [10.0.0.0/8]}}]
                """);
        assertThat(answered).as("connections from 127.0.0.1 served on a listener that trusts only 10.0.0.0/8")
                .isZero();
        assertThat(forwarded.get()).as("requests from untrusted peers that reached the origin").isZero();
    }

    /**
     * Starts CLIENTS threads connecting to a free port before the proxy listens on it, each connection sending a
     * request and kept open, then starts the proxy; returns how many of the CONNECTIONS got an HTTP answer.
     */
    private int answeredWhileStarting(String listeners) throws Exception {
        int port = Proxies.deadPort();
        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        java.util.concurrent.atomic.AtomicInteger left = new java.util.concurrent.atomic.AtomicInteger(CONNECTIONS);
        for (int i = 0; i < CLIENTS; i++) {
            clients.submit(() -> {
                while (left.get() > 0 && System.nanoTime() < deadline) {
                    try {
                        Socket s = new Socket("127.0.0.1", port);
                        if (left.getAndDecrement() <= 0) {
                            s.close();
                            break;
                        }
                        sockets.add(s);
                        s.getOutputStream().write("GET / HTTP/1.1\r\nHost: t\r\n\r\n"
                                .getBytes(StandardCharsets.US_ASCII));
                    } catch (IOException notYetListening) {
                        Thread.onSpinWait();
                    }
                }
                return null;
            });
        }
        proxy = Proxies.start(vertx, ("access_log: {format: off}\n" + listeners + """
                upstreams: {app: {servers: [%s]}}
                servers:
                  - default: true
                    locations: [{prefix: /, upstream: app}]
                """).formatted(port, origin.address()));
        clients.shutdown();
        assertThat(clients.awaitTermination(60, TimeUnit.SECONDS)).isTrue();
        assertThat(sockets).hasSize(CONNECTIONS);
        int answered = 0;
        for (Socket s : sockets) {
            s.setSoTimeout(5_000);
            byte[] buf = new byte[64];
            int n;
            try {
                n = s.getInputStream().read(buf);
            } catch (java.net.SocketTimeoutException waiting) {
                n = -1; // nothing within 5 s: not served (a capped connection is closed; this one was not answered)
            } catch (java.net.SocketException reset) {
                n = -1;
            }
            if (n > 0 && new String(buf, 0, n, StandardCharsets.US_ASCII).startsWith("HTTP/")) {
                answered++;
            }
        }
        return answered;
    }
}
