package io.tiergate.status;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import io.tiergate.cli.TiergateConfig;
import io.tiergate.director.Director;
import io.tiergate.director.config.DirectorConfig;
import io.tiergate.director.dataplane.userspace.UserspaceDataplane;
import io.tiergate.director.ha.VrrpConfig;
import io.tiergate.proxy.config.ProxyConfig;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServer;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * deploy/monitoring/ against the real thing: every metric a Grafana panel or a Prometheus rule uses is on the
 * /metrics of a running tier (director on the userspace dataplane with VRRP, proxy with a TLS listener, a cache and
 * failing upstreams, each after some traffic), and Debian's {@code promtool} accepts the rule file and every
 * panel's query, and its unit tests (tiergate-alerts.test.yml) pass.
 */
@Timeout(120)
class MonitoringTest {
    static final Path MONITORING = Path.of("monitoring");
    static final Path ALERTS = MONITORING.resolve("prometheus/tiergate-alerts.yml");
    static final Path DIRECTOR_DASHBOARD = MONITORING.resolve("grafana/tiergate-director.json");
    static final Path PROXY_DASHBOARD = MONITORING.resolve("grafana/tiergate-proxy.json");
    /** Names Tiergate exports; recording rules ({@code tiergate:...}) and Prometheus built-ins are not. */
    static final Pattern METRIC = Pattern.compile("\\b((?:tiergate|process|jvm)_[a-zA-Z0-9_]+)");
    static final ObjectMapper JSON = new ObjectMapper();
    static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());

    @TempDir
    Path dir;

    static List<String> dashboardQueries(Path file) throws IOException {
        List<String> out = new ArrayList<>();
        JSON.readTree(file.toFile()).findValues("targets").forEach(ts -> ts.forEach(t -> out.add(t.get("expr").asText())));
        return out;
    }

    static List<String> ruleQueries() throws IOException {
        List<String> out = new ArrayList<>();
        for (JsonNode g : YAML.readTree(ALERTS.toFile()).get("groups")) {
            for (JsonNode r : g.get("rules")) {
                out.add(r.get("expr").asText());
            }
        }
        return out;
    }

    static Set<String> names(List<String> queries) {
        Set<String> out = new TreeSet<>();
        for (String q : queries) {
            Matcher m = METRIC.matcher(q);
            while (m.find()) {
                out.add(m.group(1));
            }
        }
        return out;
    }

    static Set<String> exported(String scrape) {
        Set<String> out = new TreeSet<>();
        for (String line : scrape.split("\n")) {
            if (!line.isBlank() && !line.startsWith("#")) {
                out.add(line.split("[{ ]", 2)[0]);
            }
        }
        return out;
    }

    private static String get(String url) throws Exception {
        return Tiers.get(url).body();
    }

    @Test
    void promtoolAcceptsTheRulesAndEveryPanelQuery() throws Exception {
        Optional<Path> promtool = Set.of("/usr/bin/promtool", "/usr/local/bin/promtool").stream().map(Path::of)
                .filter(Files::isExecutable).findFirst();
        if (promtool.isEmpty()) {
            System.out.println("promtool checks skipped: promtool not found (apt-get install prometheus)");
        }
        Assumptions.assumeTrue(promtool.isPresent(), "promtool not installed");
        assertThat(run(promtool.get().toString(), "check", "rules", ALERTS.toString())).contains("SUCCESS");
        // Each alert fires on its condition, with its labels and text, and not on the healthy series next to it.
        assertThat(run(promtool.get().toString(), "test", "rules",
                MONITORING.resolve("prometheus/tiergate-alerts.test.yml").toString())).contains("SUCCESS");

        // Panel queries as recording rules: promtool parses each one, so a typo in a dashboard fails here too.
        StringBuilder rules = new StringBuilder("groups:\n  - name: dashboards\n    rules:\n");
        int i = 0;
        for (Path d : List.of(DIRECTOR_DASHBOARD, PROXY_DASHBOARD)) {
            for (String q : dashboardQueries(d)) {
                rules.append("      - record: dashboard:query").append(i++).append("\n        expr: ")
                        .append(JSON.writeValueAsString(q.replace("$instance", ".*"))).append('\n');
            }
        }
        Path file = dir.resolve("dashboard-queries.yml");
        Files.writeString(file, rules);
        assertThat(i).isGreaterThan(20);
        assertThat(run(promtool.get().toString(), "check", "rules", file.toString())).contains("SUCCESS: " + i + " rules found");
    }

    private static String run(String... cmd) throws Exception {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes());
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
        assertThat(p.exitValue()).as(String.join(" ", cmd) + ":\n" + out).isZero();
        return out;
    }

    @Test
    void everyMetricOfTheDashboardsAndAlertsIsExportedByARunningTier() throws Exception {
        Vertx vertx = Vertx.vertx();
        try {
            String director = directorScrape(vertx);
            String proxy = proxyScrape(vertx);
            Set<String> onDirector = exported(director);
            Set<String> onProxy = exported(proxy);
            Set<String> anyTier = new TreeSet<>(onDirector);
            anyTier.addAll(onProxy);

            List<String> missing = new ArrayList<>();
            names(dashboardQueries(DIRECTOR_DASHBOARD)).stream().filter(n -> !onDirector.contains(n))
                    .forEach(n -> missing.add(n + " (director dashboard)"));
            names(dashboardQueries(PROXY_DASHBOARD)).stream().filter(n -> !onProxy.contains(n))
                    .forEach(n -> missing.add(n + " (proxy dashboard)"));
            names(ruleQueries()).stream().filter(n -> !anyTier.contains(n))
                    .forEach(n -> missing.add(n + " (alert rules)"));
            assertThat(names(ruleQueries())).contains("tiergate_director_real_server_up", "tiergate_director_vrrp_state",
                    "tiergate_proxy_tls_certificate_expiry_timestamp_seconds");
            assertThat(missing).as("metrics used by deploy/monitoring/ but not on a running tier's /metrics").isEmpty();
        } finally {
            vertx.close().await(10, TimeUnit.SECONDS);
        }
    }

    /** A director with two real servers, traffic through the VIP, and VRRP (a stand-in instance: no interface needed). */
    private String directorScrape(Vertx vertx) throws Exception {
        HttpServer a = Tiers.backend(vertx, "a");
        HttpServer b = Tiers.backend(vertx, "b");
        int vipPort = Tiers.freePort();
        Path cfg = dir.resolve("director.yaml");
        Files.writeString(cfg, """
                director:
                  dataplane: userspace
                  admin: 127.0.0.1:0
                  services:
                    web:
                      vip: 127.0.0.1:%d
                      protocol: tcp
                      scheduler: rr
                      method: nat
                      health: {type: tcp, interval: 300ms, timeout: 300ms}
                      real_servers: [127.0.0.1:%d, 127.0.0.1:%d]
                """.formatted(vipPort, a.actualPort(), b.actualPort()));
        DirectorConfig config = TiergateConfig.load(cfg).director().orElseThrow()
                .withVrrp(Optional.of(VrrpConfig.of("lo", 51, 150, Duration.ofSeconds(1), List.of("127.0.0.1/32"))));
        try (Director d = Director.start(vertx, config,
                () -> new UserspaceDataplane(vertx, config.connectTimeout(), config.udpIdleTimeout()),
                "test", Tiers.StandInVrrp::new)) {
            for (int i = 0; i < 5; i++) {
                get("http://127.0.0.1:" + vipPort + "/");
            }
            Thread.sleep(1500); // the gauges refresh once a second
            return get("http://127.0.0.1:" + d.adminPort() + "/metrics");
        } finally {
            a.close();
            b.close();
        }
    }

    /** A proxy with a TLS listener, a caching location and an upstream that fails (ejection, refused retries). */
    private String proxyScrape(Vertx vertx) throws Exception {
        HttpServer origin = Tiers.backend(vertx, "origin");
        int dead1 = Tiers.freePort();
        int dead2 = Tiers.freePort();
        Path cert = dir.resolve("cert.pem");
        Path key = dir.resolve("key.pem");
        run("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key.toString(), "-out",
                cert.toString(), "-days", "30", "-subj", "/CN=localhost");
        Path cfg = dir.resolve("proxy.yaml");
        Files.writeString(cfg, """
                proxy:
                  access_log: {format: off}
                  admin: 127.0.0.1:0
                  listeners:
                    - {address: 127.0.0.1:0}
                    - {name: tls, address: 127.0.0.1:0, tls: {certificates: [{cert: %s, key: %s}]}}
                  upstreams:
                    app: {servers: [127.0.0.1:%d]}
                    dead: {servers: [{address: 127.0.0.1:%d, max_fails: 1}, {address: 127.0.0.1:%d, max_fails: 1}]}
                  servers:
                    - default: true
                      locations:
                        - {prefix: /static/, upstream: app, cache: on}
                        - {prefix: /dead/, upstream: dead, retry: {tries: 2}}
                        - {prefix: /, upstream: app}
                """.formatted(cert, key, origin.actualPort(), dead1, dead2));
        ProxyConfig config = TiergateConfig.load(cfg).proxy().orElseThrow();
        try (Tiers.Proxy proxy = Tiers.Proxy.start(vertx, config)) {
            for (int i = 0; i < 3; i++) {
                get(proxy.site() + "/static/a.css");
                get(proxy.site() + "/page");
                get(proxy.site() + "/dead/x");
            }
            return get(proxy.adminBase() + "/metrics");
        } finally {
            origin.close();
        }
    }
}
