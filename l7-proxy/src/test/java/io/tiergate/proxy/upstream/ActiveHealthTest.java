package io.tiergate.proxy.upstream;

import io.tiergate.proxy.ProxyNode;
import io.tiergate.proxy.support.Origin;
import io.tiergate.proxy.support.Proxies;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpClientAgent;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.time.Duration;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;

import static org.assertj.core.api.Assertions.assertThat;

/** Active health checks against real origins: a failing check takes a server out, a passing one brings it back. */
@Timeout(30)
class ActiveHealthTest {
    Vertx vertx;
    HttpClientAgent client;
    ProxyNode proxy;
    final AtomicInteger healthStatusA = new AtomicInteger(200);
    final AtomicBoolean failWorkA = new AtomicBoolean();
    Origin a;
    Origin b;

    @BeforeEach
    void start() {
        vertx = io.tiergate.shared.runtime.Runtimes.vertx();
        client = vertx.createHttpClient();
        a = Origin.start(vertx, "a", (o, req, body) -> {
            if (req.path().equals("/healthz")) {
                req.response().setStatusCode(healthStatusA.get()).end();
            } else {
                req.response().setStatusCode(failWorkA.get() ? 502 : 200).end("a");
            }
        });
        b = Origin.start(vertx, "b", (o, req, body) -> req.response().end("b"));
    }

    @AfterEach
    void stop() {
        if (proxy != null) {
            Origin.await(proxy.shutdown(Duration.ZERO));
        }
        a.close();
        b.close();
        Origin.await(vertx.close());
    }

    private ProxyNode proxy(String server, String health) {
        return Proxies.start(vertx, """
                access_log: {format: off}
                listeners: [{address: 127.0.0.1:0}]
                upstreams:
                  app:
                    health: %s
                    servers:
                      - {address: %s, max_fails: 1, fail_timeout: 60s}
                      - %s
                servers: [{default: true, locations: [{prefix: /, upstream: app}]}]
                """.formatted(health, server, b.address()));
    }

    private Peer peerA() {
        return proxy.upstream("app").peers().stream().filter(p -> p.key().equals(a.address())).findFirst().orElseThrow();
    }

    private static void eventually(String what, BooleanSupplier cond) throws InterruptedException {
        long end = System.nanoTime() + Duration.ofSeconds(5).toNanos();
        while (!cond.getAsBoolean()) {
            assertThat(System.nanoTime() < end).as("within 5 s: " + what).isTrue();
            Thread.sleep(20);
        }
    }

    private long workHits(Origin o) {
        return o.received.stream().filter(r -> !r.uri().equals("/healthz")).count();
    }

    @Test
    void aFailingCheckTakesTheServerOutAndAPassingOneBringsItBack() throws Exception {
        proxy = proxy(a.address(), "{type: http, path: /healthz, interval: 100ms, timeout: 100ms, rise: 2, fall: 3}");
        int port = proxy.listenPorts().get(0);
        eventually("server a gets checked", () -> a.received.stream().anyMatch(r -> r.uri().equals("/healthz")));

        healthStatusA.set(503);
        eventually("a failing /healthz marks a down", () -> !peerA().activeHealthy());
        long before = workHits(a);
        for (int i = 0; i < 10; i++) {
            Proxies.Reply r = Proxies.get(client, port, "/x" + i);
            assertThat(r.status()).as("requests keep succeeding on b").isEqualTo(200);
            assertThat(r.body()).as("a server down by its health check gets no requests").isEqualTo("b");
        }
        assertThat(workHits(a)).isEqualTo(before);

        healthStatusA.set(200);
        eventually("a passing /healthz brings a back", () -> peerA().activeHealthy());
        long bodiesFromA = 0;
        for (int i = 0; i < 10; i++) {
            if (Proxies.get(client, port, "/y" + i).body().equals("a")) {
                bodiesFromA++;
            }
        }
        assertThat(bodiesFromA).as("round robin includes a again after re-admission").isEqualTo(5);
    }

    @Test
    void anOutlierEjectedByPassiveHealthIsReadmittedAfterItsChecksPassNotAfterFailTimeout() throws Exception {
        proxy = proxy(a.address(), "{type: http, path: /healthz, interval: 100ms, timeout: 100ms, rise: 2, fall: 3}");
        int port = proxy.listenPorts().get(0);
        eventually("server a is checked and up", () -> a.received.stream().anyMatch(r -> r.uri().equals("/healthz")));
        failWorkA.set(true);
        for (int i = 0; i < 2; i++) { // round robin: one of these lands on a, gets 502, is retried on b
            assertThat(Proxies.get(client, port, "/z" + i).body()).as("a's 502 is retried on b").isEqualTo("b");
        }
        assertThat(peerA().activeHealthy()).as("max_fails: 1 ejected a; it stays out until its checks pass")
                .isFalse();
        failWorkA.set(false);
        long t0 = System.nanoTime();
        eventually("a is re-admitted after 2 passing checks", () -> peerA().activeHealthy());
        assertThat(Duration.ofNanos(System.nanoTime() - t0)).as("well before fail_timeout (60s)")
                .isLessThan(Duration.ofSeconds(3));
        long fromA = 0;
        for (int i = 0; i < 4; i++) {
            if (Proxies.get(client, port, "/w" + i).body().equals("a")) {
                fromA++;
            }
        }
        assertThat(fromA).as("the re-admitted server takes its share again").isEqualTo(2);
    }

    @Test
    void aTcpCheckOnAClosedPortKeepsThatServerOut() throws Exception {
        int dead = Proxies.deadPort();
        proxy = proxy("127.0.0.1:" + dead, "{type: tcp, interval: 50ms, timeout: 45ms, rise: 1, fall: 1}");
        int port = proxy.listenPorts().get(0);
        Peer p = proxy.upstream("app").peers().get(0);
        eventually("the closed port is marked down", () -> !p.activeHealthy());
        for (int i = 0; i < 5; i++) {
            Proxies.Reply r = Proxies.get(client, port, "/t" + i);
            assertThat(r.body()).as("no attempt goes to the down server").isEqualTo("b");
        }
        assertThat(proxy.meterRegistry().find("tiergate_proxy_retries").counters())
                .as("no retries needed: the down server was never picked (the series exist from start, at 0)")
                .isNotEmpty().allSatisfy(c -> assertThat(c.count()).isZero());
    }
}
