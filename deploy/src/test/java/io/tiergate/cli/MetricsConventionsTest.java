package io.tiergate.cli;

import io.tiergate.director.Director;
import io.tiergate.director.config.DirectorConfig;
import io.tiergate.director.dataplane.userspace.UserspaceDataplane;
import io.tiergate.director.ha.VrrpConfig;
import io.tiergate.director.ha.VrrpRoleListener;
import io.tiergate.director.ha.VrrpState;
import io.tiergate.director.ha.VrrpStatus;
import io.tiergate.proxy.ProxyNode;
import io.tiergate.proxy.config.ProxyConfig;
import io.tiergate.shared.admin.AdminServer;
import io.tiergate.shared.metrics.Metrics;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Both tiers' real {@code /metrics}, loaded from one config file as an operator writes it, pass
 * {@code promtool check metrics} (Prometheus's own linter: counters end in {@code _total}, units in the name, ...)
 * before and after traffic; the series an alert needs exist from the first scrape at 0; no value is a -1 sentinel;
 * the request histogram has the configured handful of buckets, not Micrometer's seventy-odd.
 */
@Timeout(120)
class MetricsConventionsTest {
    static final Path PROMTOOL = Path.of("/usr/bin/promtool");

    @TempDir
    Path dir;
    Vertx vertx;
    final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    @AfterEach
    void stop() throws Exception {
        if (vertx != null) {
            vertx.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
        }
    }

    static <T> T await(Future<T> f) throws Exception {
        return f.toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
    }

    /** VRRP's part (it needs root and an interface); the director's wiring and metrics around it are real. */
    static final class StandbyHa implements Director.HaInstance {
        final VrrpConfig config;

        StandbyHa(VrrpConfig config) {
            this.config = config;
        }

        @Override
        public VrrpConfig config() {
            return config;
        }

        @Override
        public void addListener(VrrpRoleListener listener) {
        }

        @Override
        public void start() {
        }

        @Override
        public void setTrackedHealth(boolean ok) {
        }

        @Override
        public void reconfigure(VrrpConfig next) {
        }

        @Override
        public VrrpStatus status() {
            return new VrrpStatus(config.vrid(), VrrpState.BACKUP, config.priority(), config.advertInterval(),
                    Optional.empty(), 1);
        }

        @Override
        public boolean linkUp() {
            return true;
        }

        @Override
        public void stop() {
        }
    }

    private String get(int port, String path) throws Exception {
        HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
                .timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString());
        assertThat(r.statusCode()).as("GET " + path + " on " + port).isEqualTo(200);
        return r.body();
    }

    private void promtool(String tier, String metrics) throws Exception {
        Process p = new ProcessBuilder(PROMTOOL.toString(), "check", "metrics").redirectErrorStream(true).start();
        p.getOutputStream().write(metrics.getBytes(StandardCharsets.UTF_8));
        p.getOutputStream().close();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(30, TimeUnit.SECONDS)).isTrue();
        assertThat(out).as("promtool check metrics on the " + tier + "'s /metrics").isEmpty();
        assertThat(p.exitValue()).isZero();
    }

    private static double value(String metrics, String regex) {
        Matcher m = Pattern.compile("(?m)^" + regex + " (\\S+)$").matcher(metrics);
        String name = regex.replaceAll("[^a-z_].*", "");
        assertThat(m.find()).as("a series matching " + regex + "; the " + name + " series are:\n"
                + String.join("\n", metrics.lines().filter(l -> l.startsWith(name)).toList())).isTrue();
        return Double.parseDouble(m.group(1));
    }

    @Test
    void bothTiersFollowPrometheusConventionsFromTheFirstScrape() throws Exception {
        Assumptions.assumeTrue(Files.isExecutable(PROMTOOL),
                "skipped: promtool (Debian package prometheus) is not installed");
        vertx = Vertx.vertx();
        HttpServer origin = await(vertx.createHttpServer().requestHandler(r -> r.response()
                .putHeader("Cache-Control", "max-age=60").end("hello")).listen(0, "127.0.0.1"));
        int proxyPort = ProxyReloadProcessTest.freePort();
        int vipPort = ProxyReloadProcessTest.freePort();
        int dead = ProxyReloadProcessTest.freePort();
        Path file = dir.resolve("tiergate.yaml");
        Files.writeString(file, """
                metrics: {latency_buckets: [10ms, 50ms, 250ms, 1s, 5s]}
                director:
                  dataplane: userspace
                  admin: 127.0.0.1:0
                  vrrp: {interface: lo, vrid: 51, priority: 120, virtual_addresses: [127.0.0.1/32]}
                  services:
                    web:
                      vip: 127.0.0.1:%d
                      sorry_server: 127.0.0.1:%d
                      health: {interval: 200ms}
                      real_servers: [127.0.0.1:%d]
                proxy:
                  access_log: {format: off}
                  admin: 127.0.0.1:0
                  listeners: [{address: 127.0.0.1:%d}]
                  upstreams:
                    app: {servers: ["127.0.0.1:%d", {address: "127.0.0.1:%d", max_fails: 1}]}
                  servers:
                    - default: true
                      locations:
                        - {prefix: /, upstream: app}
                        - {prefix: /cached/, upstream: app, cache: on}
                """.formatted(vipPort, dead, proxyPort, proxyPort, origin.actualPort(), dead));
        TiergateConfig cfg = TiergateConfig.load(file);
        ProxyConfig pc = cfg.proxy().orElseThrow();
        DirectorConfig dc = cfg.director().orElseThrow();

        Metrics proxyMetrics = new Metrics(Map.of("tier", "proxy", "node", "n1"), cfg.metrics().latencyBuckets());
        ProxyNode node = await(ProxyNode.start(vertx, pc, proxyMetrics.registry()));
        AdminServer proxyAdmin = await(AdminServer.start(vertx, "127.0.0.1", 0, proxyMetrics, () -> true, Map.of()));
        Director director = Director.start(vertx, dc, () -> new UserspaceDataplane(vertx, dc.connectTimeout(),
                dc.udpIdleTimeout()), "test", StandbyHa::new);
        try {
            String p0 = get(proxyAdmin.port(), "/metrics");
            String d0 = get(director.adminPort(), "/metrics");
            promtool("proxy", p0);
            promtool("director", d0);

            String any = "\\{[^}]*";
            assertThat(value(p0, "tiergate_proxy_requests_total" + any + "route=\"/cached/\",status_class=\"5xx\","
                    + "tier=\"proxy\",upstream=\"app\"}")).as("request series of every route exist at 0").isZero();
            assertThat(value(p0, "tiergate_proxy_upstream_server_up" + any + "server=\"127.0.0.1:"
                    + origin.actualPort() + "\"[^}]*}")).isEqualTo(1);
            assertThat(value(p0, "tiergate_proxy_upstream_ejections_total" + any + "server=\"127.0.0.1:" + dead
                    + "\"[^}]*}")).isZero();
            assertThat(value(p0, "tiergate_proxy_retries_refused_total" + any
                    + "upstream=\"app\",why=\"budget-exhausted\"}"))
                    .as("refused-retry series exist at 0").isZero();
            assertThat(value(p0, "tiergate_proxy_cache_hits_total" + any + "}")).isZero();
            assertThat(value(p0, "tiergate_proxy_access_log_dropped_total" + any + "}"))
                    .as("the access log's dropped lines, an alert's series, exist at 0").isZero();
            assertThat(value(p0, "tiergate_proxy_cache_size_bytes" + any + "}")).isZero();
            assertThat(value(p0, "tiergate_config_reloads_total" + any + "result=\"success\"[^}]*}")).isZero();
            assertThat(Pattern.compile("(?m)^tiergate_proxy_request_duration_seconds_bucket\\{[^}]*route=\"/\"[^}]*\\}")
                    .matcher(p0).results().count()).as("metrics.latency_buckets: 5 buckets and +Inf").isEqualTo(6);

            assertThat(value(d0, "tiergate_director_real_server_weight" + any + "real_server=\"127.0.0.1:" + proxyPort
                    + "\"[^}]*}")).isEqualTo(1);
            assertThat(value(d0, "tiergate_director_service_quorum_up" + any + "}")).isEqualTo(1);
            assertThat(value(d0, "tiergate_director_service_sorry_server_active" + any + "}")).isZero();
            assertThat(value(d0, "tiergate_director_vrrp_state" + any + "state=\"BACKUP\"[^}]*}")).isEqualTo(1);
            assertThat(value(d0, "tiergate_director_vrrp_state" + any + "state=\"MASTER\"[^}]*}")).isZero();
            assertThat(value(d0, "tiergate_director_vrrp_priority" + any + "}")).isEqualTo(120);
            assertThat(value(d0, "tiergate_director_vrrp_transitions_total" + any + "}")).isEqualTo(1);
            assertThat(value(d0, "tiergate_director_dataplane_selected" + any + "dataplane=\"userspace\"[^}]*}"))
                    .isEqualTo(1);
            assertThat(value(d0, "tiergate_config_reloads_total" + any + "result=\"failure\"[^}]*}")).isZero();

            for (int i = 0; i < 6; i++) {
                get(vipPort, i % 2 == 0 ? "/x" : "/cached/a");
            }
            String p1 = get(proxyAdmin.port(), "/metrics");
            Thread.sleep(1500); // the director's meters refresh once a second
            String d1 = get(director.adminPort(), "/metrics");
            promtool("proxy", p1);
            promtool("director", d1);
            for (String m : List.of(p1, d1)) {
                assertThat(m).as("no -1 sentinels: an unknown value leaves its series out")
                        .doesNotContainPattern("(?m) -1(\\.0)?$");
            }
            assertThat(value(p1, "tiergate_proxy_requests_total" + any + "route=\"/\",status_class=\"2xx\""
                    + "[^}]*}")).isEqualTo(3);
            assertThat(value(p1, "tiergate_proxy_cache_hits_total" + any + "}")).isEqualTo(2);
            assertThat(value(p1, "tiergate_proxy_cache_misses_total" + any + "}")).isEqualTo(1);
            assertThat(value(p1, "tiergate_proxy_cache_stores_total" + any + "}")).isEqualTo(1);
            assertThat(value(p1, "tiergate_proxy_upstream_ejections_total" + any + "server=\"127.0.0.1:" + dead
                    + "\"[^}]*}")).as("the dead server was ejected (max_fails: 1)").isGreaterThanOrEqualTo(1);
            assertThat(value(d1, "tiergate_director_real_server_connections_total" + any + "real_server=\"127.0.0.1:"
                    + proxyPort + "\"[^}]*}")).as("the client's keep-alive connection(s) through the VIP")
                    .isGreaterThanOrEqualTo(1);
        } finally {
            director.close();
            await(node.shutdown(Duration.ZERO));
            proxyMetrics.close();
        }
    }
}
