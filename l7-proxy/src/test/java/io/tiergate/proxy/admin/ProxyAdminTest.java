package io.tiergate.proxy.admin;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.tiergate.proxy.ProxyNode;
import io.tiergate.proxy.support.Origin;
import io.tiergate.proxy.support.Proxies;
import io.tiergate.shared.admin.AdminAccess;
import io.tiergate.shared.config.HostPort;
import io.tiergate.shared.metrics.Metrics;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpClientAgent;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.time.Duration;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The proxy's status API through a real admin endpoint of a real node: what /api/status reports about upstream
 * servers after real traffic (requests, latency percentiles, failures, ejections), drain/enable of an upstream server
 * (a drained one gets no new request), the mistakes an operator makes (404 naming what exists, 405), and the events.
 */
@Timeout(30)
class ProxyAdminTest {
    static Vertx vertx;
    static Origin a;
    static Origin b;
    static int dead;
    static ProxyNode proxy;
    static Metrics metrics;
    static ProxyAdmin.Endpoint admin;
    static HttpClientAgent client;

    @BeforeAll
    static void start() {
        vertx = io.tiergate.shared.runtime.Runtimes.vertx();
        client = vertx.createHttpClient();
        a = Origin.start(vertx, "a", (o, req, body) -> req.response().end("a"));
        b = Origin.start(vertx, "b", (o, req, body) -> req.response().end("b"));
        dead = Proxies.deadPort();
        metrics = new Metrics(Map.of("tier", "proxy"));
        proxy = Origin.await(ProxyNode.start(vertx, Proxies.config("""
                access_log: {format: off}
                listeners: [{address: 127.0.0.1:0}]
                upstreams:
                  app: {servers: [{address: %s}, {address: %s}]}
                  flaky: {servers: [{address: %s}, {address: 127.0.0.1:%d, max_fails: 1, fail_timeout: 30s}]}
                servers: [{default: true, locations: [{prefix: /flaky/, upstream: flaky}, {prefix: /, upstream: app}]}]
                """.formatted(a.address(), b.address(), a.address(), dead)), metrics.registry()));
        admin = Origin.await(ProxyAdmin.serve(vertx, proxy, metrics, new HostPort("127.0.0.1", 0), AdminAccess.OPEN,
                () -> true));
    }

    @AfterAll
    static void stop() {
        Origin.await(admin.close());
        Origin.await(proxy.shutdown(Duration.ofSeconds(1)));
        metrics.close();
        a.close();
        b.close();
        Origin.await(vertx.close());
    }

    static Proxies.Reply call(HttpMethod m, String uri) {
        return Proxies.send(client, admin.port(), m, uri, null);
    }

    static JsonObject server(JsonObject status, String upstream, String server) {
        for (Object u : status.getJsonArray("upstreams")) {
            JsonObject uj = (JsonObject) u;
            if (uj.getString("name").equals(upstream)) {
                for (Object s : uj.getJsonArray("servers")) {
                    if (((JsonObject) s).getString("server").equals(server)) {
                        return (JsonObject) s;
                    }
                }
            }
        }
        throw new AssertionError(upstream + "/" + server + " not in " + status.encodePrettily());
    }

    @Test
    void statusReportsWhatTrafficDidToEachServer() {
        int port = proxy.listenPorts().get(0);
        JsonObject st0 = new JsonObject(call(HttpMethod.GET, "/api/status").body());
        long before = server(st0, "app", a.address()).getLong("requests") + server(st0, "app", b.address()).getLong("requests");
        for (int i = 0; i < 10; i++) {
            assertThat(Proxies.get(client, port, "/x").status()).isEqualTo(200);
            assertThat(Proxies.get(client, port, "/flaky/" + i).status()).as("a retry on a covers the dead server").isEqualTo(200);
        }
        JsonObject st = new JsonObject(call(HttpMethod.GET, "/api/status").body());
        JsonObject sa = server(st, "app", a.address());
        assertThat(sa.getLong("requests") + server(st, "app", b.address()).getLong("requests")).isEqualTo(before + 10);
        assertThat(sa.getString("health")).isEqualTo("up");
        JsonObject lat = sa.getJsonObject("latencyMs");
        assertThat(lat.getDouble("p50")).isPositive().isLessThanOrEqualTo(lat.getDouble("p95"));
        assertThat(lat.getDouble("p95")).isLessThanOrEqualTo(lat.getDouble("p99"));
        JsonObject bad = server(st, "flaky", "127.0.0.1:" + dead);
        assertThat(bad.getString("health")).as("max_fails 1 took it out").isEqualTo("ejected");
        assertThat(bad.getLong("failures")).isPositive();
        assertThat(bad.getLong("ejections")).isEqualTo(1);
        assertThat(bad.getValue("latencyMs")).as("never answered").isNull();
        JsonObject flaky = st.getJsonArray("upstreams").stream().map(JsonObject.class::cast)
                .filter(u -> u.getString("name").equals("flaky")).findFirst().orElseThrow();
        assertThat(flaky.getLong("retries")).isPositive();
        assertThat(st.getJsonArray("listeners").getJsonObject(0).getInteger("port")).isEqualTo(port);
        assertThat(call(HttpMethod.GET, "/api/events").body()).contains("ejected after 1 failure(s)");
    }

    @Test
    void aDrainedServerGetsNoNewRequestsUntilEnabled() {
        int port = proxy.listenPorts().get(0);
        String path = "/api/upstreams/app/servers/" + a.address();
        Proxies.Reply d = call(HttpMethod.POST, path + "/drain");
        assertThat(d.status()).isEqualTo(200);
        assertThat(new JsonObject(d.body()).getBoolean("drained")).isTrue();
        long before = a.hits.get();
        for (int i = 0; i < 6; i++) {
            assertThat(Proxies.get(client, port, "/d").body()).isEqualTo("b");
        }
        assertThat(a.hits.get()).isEqualTo(before);
        assertThat(server(new JsonObject(call(HttpMethod.GET, "/api/status").body()), "app", a.address())
                .getString("health")).isEqualTo("drained");
        assertThat(call(HttpMethod.POST, path + "/enable").status()).isEqualTo(200);
        boolean sawA = false;
        for (int i = 0; i < 6; i++) {
            sawA |= Proxies.get(client, port, "/e").body().equals("a");
        }
        assertThat(sawA).as("back in rotation").isTrue();
        JsonArray events = new JsonArray(call(HttpMethod.GET, "/api/events").body());
        assertThat(events.encode()).contains("drain app/" + a.address()).contains("enable app/" + a.address());
    }

    @Test
    void aDrainOutlivesAReloadThatChangesTheUpstream() {
        String path = "/api/upstreams/app/servers/" + b.address();
        assertThat(call(HttpMethod.POST, path + "/drain").status()).isEqualTo(200);
        try {
            Origin.await(proxy.reload(Proxies.config("""
                    access_log: {format: off}
                    listeners: [{address: 127.0.0.1:0}]
                    upstreams:
                      app: {keepalive_timeout: 7s, servers: [{address: %s}, {address: %s}]}
                      flaky: {servers: [{address: %s}, {address: 127.0.0.1:%d, max_fails: 1, fail_timeout: 30s}]}
                    servers: [{default: true, locations: [{prefix: /flaky/, upstream: flaky}, {prefix: /, upstream: app}]}]
                    """.formatted(a.address(), b.address(), a.address(), dead))));
            assertThat(proxy.upstream("app").config().keepaliveTimeout()).as("the upstream was rebuilt")
                    .isEqualTo(Duration.ofSeconds(7));
            assertThat(proxy.upstream("app").peer(b.address()).drained()).isTrue();
            assertThat(proxy.upstream("app").peer(a.address()).drained()).isFalse();
        } finally {
            call(HttpMethod.POST, path + "/enable");
        }
    }

    /**
     * Prometheus scrapes /metrics every few seconds, also while the config reloads. A reload used to register every
     * upstream server's health gauge again (remove, then add): a scrape in that instant missed series or failed as a
     * whole with HTTP 500 ("Duplicate labels"). Scrapes run here back to back while the proxy reloads a config whose
     * app upstream keeps 30 servers (never sent a request) and gains or loses one more.
     */
    @Test
    void scrapesDuringReloadsAlwaysAnswerWithEachServerOnce() throws Exception {
        StringBuilder stay = new StringBuilder();
        for (int j = 0; j < 30; j++) {
            stay.append(", {address: 127.0.0.2:").append(1000 + j).append('}');
        }
        String yaml = """
                access_log: {format: off}
                listeners: [{address: 127.0.0.1:0}]
                upstreams:
                  app: {keepalive_timeout: %ds, servers: [{address: %s}%s%s]}
                  flaky: {servers: [{address: %s}, {address: 127.0.0.1:%d, max_fails: 1, fail_timeout: 30s}]}
                servers: [{default: true, locations: [{prefix: /flaky/, upstream: flaky}, {prefix: /, upstream: app}]}]
                """;
        java.util.function.IntFunction<String> config = i -> i == 0 ? yaml.formatted(5, a.address(), "",
                ", {address: " + b.address() + "}", a.address(), dead) : yaml.formatted(5 + i % 2, a.address(), stay,
                i % 2 == 0 ? ", {address: " + b.address() + "}" : "", a.address(), dead);
        java.util.regex.Pattern steady = java.util.regex.Pattern.compile(
                "^tiergate_proxy_upstream_server_up\\{server=\"127\\.0\\.0\\.2:1\\d{3}\",.*upstream=\"app\"\\} 1\\.0$",
                java.util.regex.Pattern.MULTILINE);
        java.util.List<String> wrong = java.util.Collections.synchronizedList(new java.util.ArrayList<>());
        java.util.concurrent.atomic.AtomicBoolean stop = new java.util.concurrent.atomic.AtomicBoolean();
        java.util.concurrent.atomic.AtomicInteger scrapes = new java.util.concurrent.atomic.AtomicInteger();
        Origin.await(proxy.reload(Proxies.config(config.apply(1))));
        Thread scraper = new Thread(() -> {
            while (!stop.get()) {
                Proxies.Reply r = call(HttpMethod.GET, "/metrics");
                scrapes.incrementAndGet();
                long rows = r.status() == 200 ? steady.matcher(r.body()).results().count() : -1;
                if (rows != 30) {
                    wrong.add("HTTP " + r.status() + ", " + rows + " of the 30 servers that stay");
                }
            }
        });
        try {
            scraper.start();
            int reloads = 1;
            long end = System.nanoTime() + 12_000_000_000L;
            while ((scrapes.get() < 100 || reloads % 2 == 0) && (System.nanoTime() < end || reloads % 2 == 0)) {
                Origin.await(proxy.reload(Proxies.config(config.apply(++reloads)))); // odd last: app ends without b
            }
            stop.set(true);
            scraper.join(10_000);
            assertThat(wrong).as("scrapes that failed or did not show each server once, of "
                    + scrapes.get() + " during " + reloads + " reloads").isEmpty();
            assertThat(call(HttpMethod.GET, "/metrics").body()).as("the last reload left b out of app")
                    .doesNotContainPattern("tiergate_proxy_upstream_server_up\\{server=\""
                            + java.util.regex.Pattern.quote(b.address()) + "\",.*upstream=\"app\"");
        } finally {
            stop.set(true);
            scraper.join(10_000);
            Origin.await(proxy.reload(Proxies.config(config.apply(0))));
        }
    }

    @Test
    void mistakesNameWhatExists() {
        Proxies.Reply noUpstream = call(HttpMethod.POST, "/api/upstreams/nope/servers/1.2.3.4:80/drain");
        assertThat(noUpstream.status()).isEqualTo(404);
        assertThat(noUpstream.body()).contains("no upstream 'nope'").contains("app").contains("flaky");
        Proxies.Reply noServer = call(HttpMethod.POST, "/api/upstreams/app/servers/1.2.3.4:80/drain");
        assertThat(noServer.status()).isEqualTo(404);
        assertThat(noServer.body()).contains(a.address());
        assertThat(call(HttpMethod.POST, "/api/upstreams/app/servers/" + a.address() + "/explode").status()).isEqualTo(404);
        assertThat(call(HttpMethod.GET, "/api/upstreams/app/servers/" + a.address() + "/drain").status()).isEqualTo(405);
        assertThat(call(HttpMethod.GET, "/api/nothing").status()).isEqualTo(404);
    }
}
