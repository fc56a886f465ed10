package io.tiergate.proxy.controls;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.tiergate.proxy.ProxyNode;
import io.tiergate.proxy.support.Origin;
import io.tiergate.proxy.support.Proxies;
import io.vertx.core.Vertx;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * limit_req and limit_conn end to end: real sockets into a proxy with one HTTP server per event loop (this machine's
 * core count, at least 2 in CI), a real origin behind it.
 */
@Timeout(120)
class LimitsTest {
    Vertx vertx;
    Origin origin;
    ProxyNode proxy;
    int port;
    Path accessLog;

    @BeforeEach
    void setUp() throws Exception {
        vertx = io.tiergate.shared.runtime.Runtimes.vertx();
        origin = Origin.start(vertx, "app", (o, req, body) -> {
            long wait = req.getHeader("X-Wait") == null ? 0 : Long.parseLong(req.getHeader("X-Wait"));
            if (wait > 0) {
                vertx.setTimer(wait, id -> req.response().end("ok\n"));
            } else {
                req.response().end("ok\n");
            }
        });
        accessLog = Files.createTempFile("limits-access", ".log");
    }

    @AfterEach
    void tearDown() throws Exception {
        if (proxy != null) {
            Origin.await(proxy.shutdown(Duration.ofSeconds(1)));
        }
        origin.close();
        Origin.await(vertx.close());
        Files.deleteIfExists(accessLog);
    }

    void start(String zones, String locations) {
        start("{address: 127.0.0.1:0}", zones, locations);
    }

    void start(String listener, String zones, String locations) {
        proxy = Proxies.start(vertx, """
                access_log: {format: json, path: %s}
                listeners: [%s]
                upstreams: {app: {servers: [%s]}}
                %s
                servers:
                  - default: true
                    locations:
                %s
                """.formatted(accessLog, listener, origin.address(), zones, locations.indent(6)));
        port = proxy.listenPorts().get(0);
    }

    List<Integer> sequential(int n, String path, String... headers) {
        List<Integer> out = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            out.add(Http.get("127.0.0.1", port, path, headers).status());
        }
        return out;
    }

    double counter(String limit, String action) {
        Counter c = proxy.meterRegistry().find("tiergate_proxy_limited_requests").tag("limit", limit)
                .tag("action", action).counter();
        assertThat(c).as("counter %s/%s registered", limit, action).isNotNull();
        return c.count();
    }

    @Test
    void nodelayBurstLetsExactlyOnePlusBurstThrough() {
        // 5 r/m: in a burst that lasts seconds the bucket drains by well under one request, so the count is exact.
        start("limit_req_zones: {per_ip: {key: client_ip, rate: 5r/m}}",
                "- {prefix: /, upstream: app, limit_req: {zone: per_ip, burst: 10, nodelay: true}}");
        List<Integer> statuses = sequential(20, "/");
        assertThat(statuses.subList(0, 11)).containsOnly(200);
        assertThat(statuses.subList(11, 20)).containsOnly(429);
        assertThat(origin.hits.get()).isEqualTo(11);
        Http.Reply refused = Http.get("127.0.0.1", port, "/");
        assertThat(refused.status()).isEqualTo(429);
        // The bucket is 11 requests full and drains one per 12 s (12.05 s in nginx's integer arithmetic: 83/1000 r/s).
        assertThat(Long.parseLong(refused.header("Retry-After"))).isBetween(1L, 13L);
        assertThat(counter("limit_req:per_ip", "rejected")).isEqualTo(10);
        assertThat(counter("limit_req:per_ip", "delayed")).isZero(); // pre-registered at 0
    }

    @Test
    void prometheusExpositionPassesPromtool() throws Exception {
        var prometheus = new io.micrometer.prometheusmetrics.PrometheusMeterRegistry(
                io.micrometer.prometheusmetrics.PrometheusConfig.DEFAULT);
        proxy = Origin.await(ProxyNode.start(vertx, Proxies.config("""
                access_log: {format: off}
                listeners: [{address: 127.0.0.1:0}]
                upstreams: {app: {servers: [%s]}}
                limit_req_zones: {per_ip: {key: client_ip, rate: 1r/m}}
                servers:
                  - default: true
                    locations: [{prefix: /, upstream: app, limit_req: {zone: per_ip}}]
                """.formatted(origin.address())), prometheus));
        port = proxy.listenPorts().get(0);
        assertThat(sequential(2, "/")).containsExactly(200, 429);
        String scrape = prometheus.scrape();
        assertThat(scrape).contains("tiergate_proxy_limited_requests_total{action=\"rejected\",limit=\"limit_req:per_ip\"} 1.0")
                .contains("tiergate_proxy_limited_requests_total{action=\"delayed\",limit=\"limit_req:per_ip\"} 0.0")
                .contains("tiergate_proxy_limit_zone_keys{zone=\"per_ip\"} 1.0");
        Process p = new ProcessBuilder("promtool", "check", "metrics").redirectErrorStream(true).start();
        try (var in = p.getOutputStream()) {
            in.write(scrape.getBytes(java.nio.charset.StandardCharsets.UTF_8));
        }
        String out = new String(p.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
        assertThat(p.waitFor()).isZero();
        assertThat(out).doesNotContain("limited_requests").doesNotContain("limit_zone");
    }

    @Test
    void fivePerSecondBurstTenPassesElevenPlusWhatDrainedMeanwhile() {
        start("limit_req_zones: {per_ip: {key: client_ip, rate: 5r/s}}",
                "- {prefix: /, upstream: app, limit_req: {zone: per_ip, burst: 10, nodelay: true}}");
        long t0 = System.nanoTime();
        List<Integer> statuses = sequential(30, "/");
        double seconds = (System.nanoTime() - t0) / 1e9;
        long passed = statuses.stream().filter(s -> s == 200).count();
        // nginx's arithmetic: 1 + burst at once, then one more per 200 ms of the burst's own duration.
        assertThat(passed).isBetween(11L, 11L + (long) Math.ceil(seconds * 5));
        assertThat(statuses).contains(429);
    }

    @Test
    void delayedModeQueuesInsteadOfRefusing() throws Exception {
        // 2 r/s, burst 3, no nodelay: 4 concurrent requests all pass, the last about 1.5 s later; a 5th and 6th are over
        // the burst and refused at once.
        start("limit_req_zones: {per_ip: {key: client_ip, rate: 2r/s}}",
                "- {prefix: /, upstream: app, limit_req: {zone: per_ip, burst: 3}}");
        ExecutorService pool = Executors.newFixedThreadPool(6);
        try {
            long t0 = System.nanoTime();
            List<Future<Integer>> fs = new ArrayList<>();
            for (int i = 0; i < 6; i++) {
                fs.add(pool.submit(() -> Http.get("127.0.0.1", port, "/").status()));
                Thread.sleep(20); // in order, but well within one drain period (500 ms) in total
            }
            List<Integer> statuses = new ArrayList<>();
            for (Future<Integer> f : fs) {
                statuses.add(f.get());
            }
            double seconds = (System.nanoTime() - t0) / 1e9;
            assertThat(statuses.stream().filter(s -> s == 200).count()).isEqualTo(4);
            assertThat(statuses.stream().filter(s -> s == 429).count()).isEqualTo(2);
            assertThat(seconds).as("the 4th request waited for the bucket").isGreaterThan(1.2);
            assertThat(counter("limit_req:per_ip", "delayed")).isEqualTo(3);
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void oneLimitAcrossEventLoops() throws Exception {
        // Every request is a new connection, and Vert.x hands connections to its HTTP servers (one per event loop)
        // in turn: 24 connections from 8 threads land on every loop. A per-loop bucket would let 5 through per loop.
        assertThat(Runtime.getRuntime().availableProcessors()).as("the proxy runs one event loop per core")
                .isGreaterThanOrEqualTo(2);
        start("limit_req_zones: {per_ip: {key: client_ip, rate: 1r/m}}",
                "- {prefix: /, upstream: app, limit_req: {zone: per_ip, burst: 4, nodelay: true}}");
        ExecutorService pool = Executors.newFixedThreadPool(8);
        try {
            List<Future<List<Integer>>> fs = new ArrayList<>();
            for (int i = 0; i < 8; i++) {
                fs.add(pool.submit(() -> sequential(3, "/")));
            }
            long passed = 0;
            for (Future<List<Integer>> f : fs) {
                passed += f.get().stream().filter(s -> s == 200).count();
            }
            assertThat(passed).isEqualTo(5);
            assertThat(origin.hits.get()).isEqualTo(5);
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void keyTableStaysBoundedUnderOneHundredThousandKeys() throws Exception {
        start("limit_req_zones: {by_key: {key: 'header:X-Key', rate: 1r/m, size: 1000}}",
                "- {prefix: /, upstream: app, return: '204', limit_req: {zone: by_key, burst: 0, nodelay: true}}");
        int perConnection = 25_000;
        ExecutorService pool = Executors.newFixedThreadPool(4);
        try {
            List<Future<List<Integer>>> fs = new ArrayList<>();
            for (int c = 0; c < 4; c++) {
                String prefix = "c" + c + "-";
                fs.add(pool.submit(() -> Http.pipelined(port, "/", perConnection, "X-Key", prefix)));
            }
            int answered = 0;
            for (Future<List<Integer>> f : fs) {
                List<Integer> statuses = f.get();
                assertThat(statuses).containsOnly(204); // every key is new: its first request is free
                answered += statuses.size();
            }
            assertThat(answered).isEqualTo(100_000);
        } finally {
            pool.shutdownNow();
        }
        Gauge keys = proxy.meterRegistry().find("tiergate_proxy_limit_zone_keys").tag("zone", "by_key").gauge();
        assertThat(keys.value()).isBetween(1.0, 1000.0);
        // The limit still works after the flood: a key used now is counted.
        assertThat(sequential(2, "/", "X-Key", "after-the-flood")).containsExactly(204, 429);
    }

    @Test
    void requestsWithoutTheKeyAreNotCounted() {
        start("limit_req_zones: {by_key: {key: 'header:X-Api-Key', rate: 1r/m}}",
                "- {prefix: /, upstream: app, limit_req: {zone: by_key}}");
        assertThat(sequential(5, "/")).containsOnly(200);
        assertThat(sequential(3, "/", "X-Api-Key", "k1")).containsExactly(200, 429, 429);
        assertThat(sequential(1, "/", "X-Api-Key", "k2")).containsExactly(200);
    }

    @Test
    void dryRunOnlyCountsAndLogs() throws Exception {
        start("limit_req_zones: {per_ip: {key: client_ip, rate: 1r/m}}",
                "- {prefix: /, upstream: app, limit_req: {zone: per_ip, dry_run: true}}");
        assertThat(sequential(4, "/")).containsOnly(200);
        assertThat(counter("limit_req:per_ip", "dry_run_rejected")).isEqualTo(3);
        assertThat(awaitLog(4)).filteredOn(l -> l.contains("\"limit\":\"limit_req:per_ip:dry_run_rejected\""))
                .hasSize(3);
    }

    @Test
    void refusedRequestsAreLoggedWithTheLimit() throws Exception {
        start("limit_req_zones: {per_ip: {key: client_ip, rate: 1r/m}}",
                "- {prefix: /, upstream: app, limit_req: {zone: per_ip, status: 503}}");
        assertThat(sequential(2, "/")).containsExactly(200, 503);
        List<String> lines = awaitLog(2);
        assertThat(lines).anySatisfy(l -> assertThat(l).contains("\"status\":503")
                .contains("\"limit\":\"limit_req:per_ip:rejected\""));
        assertThat(lines).anySatisfy(l -> assertThat(l).contains("\"status\":200").contains("\"limit\":null"));
    }

    @Test
    void limitConnCountsRequestsInProgress() throws Exception {
        start("limit_conn_zones: {per_ip: {key: client_ip}}",
                "- {prefix: /, upstream: app, limit_conn: {zone: per_ip, max: 2}}");
        ExecutorService pool = Executors.newFixedThreadPool(4);
        try {
            List<Future<Integer>> slow = new ArrayList<>();
            for (int i = 0; i < 2; i++) {
                slow.add(pool.submit(() -> Http.get("127.0.0.1", port, "/", "X-Wait", "3000").status()));
            }
            long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
            while (origin.received.size() < 2 && System.nanoTime() < deadline) {
                Thread.sleep(20);
            }
            assertThat(Http.get("127.0.0.1", port, "/").status()).isEqualTo(429);
            for (Future<Integer> f : slow) {
                assertThat(f.get()).isEqualTo(200);
            }
            // Both slots were given back when the responses ended.
            assertThat(sequential(3, "/")).containsOnly(200);
            assertThat(counter("limit_conn:per_ip", "rejected")).isEqualTo(1);
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void locationBodyLimitOverridesTheGlobalOne() {
        start("limits: {max_body_size: 1m}", """
                - {prefix: /small/, upstream: app, max_body_size: 10}
                - {prefix: /, upstream: app}
                """);
        String body = "0123456789ABCDEF"; // 16 bytes
        String small = Proxies.raw(port, "POST /small/x HTTP/1.1\r\nHost: t\r\nContent-Length: 16\r\n\r\n" + body);
        assertThat(small).startsWith("HTTP/1.1 413");
        String chunked = Proxies.raw(port, "POST /small/x HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
                + "10\r\n" + body + "\r\n0\r\n\r\n");
        assertThat(chunked).startsWith("HTTP/1.1 413");
        String other = Proxies.raw(port, "POST /other HTTP/1.1\r\nHost: t\r\nContent-Length: 16\r\nConnection: close\r\n\r\n"
                + body);
        assertThat(other).startsWith("HTTP/1.1 200");
        assertThat(counter("max_body_size", "rejected")).isEqualTo(2);
    }

    @Test
    void locationReadTimeoutOverridesTheGlobalOne() {
        start("timeouts: {upstream_read: 20s}\nretry: {tries: 1}", """
                - {prefix: /quick/, upstream: app, timeouts: {read: 1s}}
                - {prefix: /, upstream: app}
                """);
        long t0 = System.nanoTime();
        assertThat(Http.get("127.0.0.1", port, "/quick/x", "X-Wait", "4000").status()).isEqualTo(504);
        assertThat(Duration.ofNanos(System.nanoTime() - t0)).isLessThan(Duration.ofMillis(3500));
        assertThat(Http.get("127.0.0.1", port, "/x", "X-Wait", "2000").status()).isEqualTo(200);
    }

    List<String> awaitLog(int lines) throws Exception {
        return Http.awaitLines(accessLog, lines);
    }
}
