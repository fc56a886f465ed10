package io.tiergate.proxy.log;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.tiergate.proxy.ProxyNode;
import io.tiergate.proxy.support.Origin;
import io.tiergate.proxy.support.Proxies;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpClientAgent;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/** The access log as an operator reads it: nginx "combined" plus Tiergate's fields, or one JSON object per line. */
@Timeout(30)
class AccessLogTest {
    @TempDir
    Path dir;
    Vertx vertx;
    HttpClientAgent client;
    Origin ok;

    @BeforeEach
    void start() {
        vertx = io.tiergate.shared.runtime.Runtimes.vertx();
        client = vertx.createHttpClient();
        ok = Origin.start(vertx, "ok", (o, req, body) -> req.response().end("hello"));
    }

    @AfterEach
    void stop() {
        ok.close();
        Origin.await(vertx.close());
    }

    private List<String> run(String format) throws Exception {
        Path log = dir.resolve(format + ".log");
        ProxyNode proxy = Proxies.start(vertx, """
                access_log: {format: %s, path: %s}
                listeners: [{address: 127.0.0.1:0}]
                upstreams: {app: {servers: ["127.0.0.1:%d", "%s"]}}
                servers: [{default: true, locations: [{prefix: /api/, upstream: app}]}]
                """.formatted(format, log, Proxies.deadPort(), ok.address()));
        int port = proxy.listenPorts().get(0);
        for (int i = 0; i < 2; i++) { // round robin: one of the two starts on the dead server and is retried
            Proxies.get(client, port, "/api/x?i=" + i, "User-Agent", "tester/1.0", "Referer", "http://r.example/",
                    "X-Request-Id", "rid-" + i);
        }
        Origin.await(proxy.shutdown(Duration.ofSeconds(1))); // flushes the log
        return Files.readAllLines(log);
    }

    @Test
    void combinedIsNginxCombinedFollowedByRouteUpstreamAndRetryFields() throws Exception {
        List<String> lines = run("combined");
        assertThat(lines).as("one line per request").hasSize(2);
        String retried = lines.stream().filter(l -> l.contains("tries=2")).findFirst().orElseThrow(() ->
                new AssertionError("expected one request retried after connect_error, got:\n" + lines));
        assertThat(retried).as("nginx combined fields first").matches(
                "127\\.0\\.0\\.1 - - \\[\\d\\d/\\w{3}/\\d{4}:\\d\\d:\\d\\d:\\d\\d [+-]\\d{4}] "
                        + "\"GET /api/x\\?i=\\d HTTP/1\\.1\" 200 5 \"http://r\\.example/\" \"tester/1\\.0\" .*");
        assertThat(retried).as("Tiergate's fields: route, upstream, servers tried and their outcomes, request id")
                .contains("route=\"/api/\"").contains("upstream=app").contains(ok.address())
                .containsPattern("us=\"connect,200\"").contains("body=").containsPattern("rid=rid-\\d");
    }

    @Test
    void jsonIsOneParsableObjectPerLine() throws Exception {
        List<String> lines = run("json");
        assertThat(lines).hasSize(2);
        ObjectMapper m = new ObjectMapper();
        for (String l : lines) {
            JsonNode n = m.readTree(l);
            assertThat(n.get("status").asInt()).isEqualTo(200);
            assertThat(n.get("method").asText()).isEqualTo("GET");
            assertThat(n.get("uri").asText()).startsWith("/api/x?i=");
            assertThat(n.get("user_agent").asText()).isEqualTo("tester/1.0");
            assertThat(n.get("route").asText()).isEqualTo("/api/");
            assertThat(n.get("upstream").asText()).isEqualTo("app");
            assertThat(n.get("request_id").asText()).startsWith("rid-");
            assertThat(n.get("duration_us").asLong()).isPositive();
        }
        assertThat(lines).as("the retried request lists both attempts, in order, the dead server first")
                .anySatisfy(l -> {
                    JsonNode n = m.readTree(l);
                    assertThat(n.get("upstream_statuses").asText()).isEqualTo("connect,200");
                    assertThat(n.get("upstream_addrs").asText()).endsWith("," + ok.address())
                            .doesNotStartWith(ok.address()).contains(":");
                    assertThat(n.get("tries").asInt()).isEqualTo(2);
                });
        assertThat(lines).as("the other went to the live server once")
                .anySatisfy(l -> {
                    JsonNode n = m.readTree(l);
                    assertThat(n.get("upstream_statuses").asText()).isEqualTo("200");
                    assertThat(n.get("upstream_addrs").asText()).isEqualTo(ok.address());
                    assertThat(n.get("tries").asInt()).isEqualTo(1);
                });
    }

    /**
     * Answers the proxy makes itself (a cache hit, a {@code return}) are accounted as proxied ones are: one log line
     * each with its status, and one count each in {@code tiergate_proxy_requests} by status class. Fails if such an
     * answer is written but never accounted.
     */
    @Test
    void answersMadeByTheProxyItselfAreLoggedAndCountedOnceEach() throws Exception {
        Path log = dir.resolve("answers.log");
        var prometheus = new io.micrometer.prometheusmetrics.PrometheusMeterRegistry(
                io.micrometer.prometheusmetrics.PrometheusConfig.DEFAULT);
        Origin cacheable = Origin.start(vertx, "cacheable",
                (o, req, body) -> req.response().putHeader("Cache-Control", "max-age=60").end("stored"));
        try {
            ProxyNode proxy = Origin.await(ProxyNode.start(vertx, Proxies.config("""
                    access_log: {format: json, path: %s}
                    listeners: [{address: 127.0.0.1:0}]
                    cache: {max_size: 16m}
                    upstreams: {app: {servers: ["%s"]}}
                    servers: [{default: true, locations: [
                      {prefix: /c/, upstream: app, cache: on},
                      {exact: /teapot, upstream: app, return: '418 short and stout'}]}]
                    """.formatted(log, cacheable.address())), prometheus));
            int port = proxy.listenPorts().get(0);
            assertThat(Proxies.get(client, port, "/c/a").status()).isEqualTo(200);
            Proxies.Reply hit = Proxies.get(client, port, "/c/a");
            assertThat(hit.headers().get("Cache-Status")).contains("hit");
            assertThat(Proxies.get(client, port, "/teapot").status()).isEqualTo(418);
            String scrape = prometheus.scrape();
            Origin.await(proxy.shutdown(Duration.ofSeconds(1))); // flushes the log
            ObjectMapper m = new ObjectMapper();
            List<JsonNode> lines = new java.util.ArrayList<>();
            for (String l : Files.readAllLines(log)) {
                lines.add(m.readTree(l));
            }
            assertThat(lines).as("one line per request").hasSize(3);
            assertThat(lines).extracting(n -> n.get("status").asInt()).containsExactly(200, 200, 418);
            assertThat(lines.get(1).get("upstream_statuses").asText()).as("the hit's cache status").contains("hit");
            assertThat(requests(scrape, "2xx")).as("the miss and the hit").isEqualTo(2);
            assertThat(requests(scrape, "4xx")).as("the return").isEqualTo(1);
        } finally {
            cacheable.close();
        }
    }

    /** The sum over routes of {@code tiergate_proxy_requests_total} for one status class. */
    private static double requests(String scrape, String statusClass) {
        return scrape.lines().filter(l -> l.startsWith("tiergate_proxy_requests_total{")
                        && l.contains("status_class=\"" + statusClass + "\""))
                .mapToDouble(l -> Double.parseDouble(l.substring(l.lastIndexOf(' ') + 1))).sum();
    }
}
