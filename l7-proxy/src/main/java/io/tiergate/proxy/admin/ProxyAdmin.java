package io.tiergate.proxy.admin;

import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import io.tiergate.proxy.ProxyNode;
import io.tiergate.proxy.cache.CacheFilter;
import io.tiergate.proxy.cache.CacheStats;
import io.tiergate.proxy.config.ListenerConfig;
import io.tiergate.proxy.config.LocationConfig;
import io.tiergate.proxy.config.ProxyConfig;
import io.tiergate.proxy.config.VirtualServerConfig;
import io.tiergate.proxy.upstream.Peer;
import io.tiergate.proxy.upstream.UpstreamGroup;
import io.tiergate.shared.admin.AdminAccess;
import io.tiergate.shared.admin.AdminServer;
import io.tiergate.shared.admin.EventLog;
import io.tiergate.shared.admin.StatusPage;
import io.tiergate.shared.config.HostPort;
import io.tiergate.shared.metrics.GaugeRows;
import io.tiergate.shared.metrics.Metrics;
import io.vertx.core.Future;
import io.vertx.core.Handler;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

import java.io.InputStream;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.function.Supplier;

/**
 * The proxy's part of the admin endpoint (the shared AdminServer adds /metrics, /healthz, /readyz and access
 * control):
 *
 * <pre>
 * GET  /                                                    the status page (HTML, polls the JSON below)
 * GET  /api/status                                          listeners, virtual hosts, upstreams, cache (JSON)
 * GET  /api/events?after=N                                  recent events (health flips, ejections, reloads, actions)
 * POST /api/upstreams/{upstream}/servers/{host:port}/drain  no new requests to that server; in-flight ones finish
 * POST /api/upstreams/{upstream}/servers/{host:port}/enable back in rotation
 * POST /api/cache/purge?key=K | ?prefix=P                   see {@link CacheAdmin}
 * </pre>
 *
 * Also {@code tiergate_proxy_tls_certificate_expiry_timestamp_seconds}: the expiry time of every listener
 * certificate, for the "certificate expiring soon" alert.
 */
public final class ProxyAdmin {
    static final int TOP_KEYS = 10;

    private final ProxyNode node;
    private final Vertx vertx;
    private final long timer;

    private ProxyAdmin(Vertx vertx, ProxyNode node, MeterRegistry registry) {
        this.vertx = vertx;
        this.node = Objects.requireNonNull(node, "node");
        GaugeRows certs = new GaugeRows(registry, "tiergate_proxy_tls_certificate_expiry_timestamp_seconds",
                "notAfter of each listener certificate, Unix seconds");
        Runnable refresh = () -> certs.setValues(certificateRows(node.config()));
        refresh.run();
        // Certificates change on reload (new paths) or in place (renewal): re-read them now and then, not per scrape.
        this.timer = vertx.setPeriodic(30_000, id -> vertx.executeBlocking(() -> {
            refresh.run();
            return null;
        }, false));
    }

    /** Registers the meters; call {@link #routes()} for AdminServer. */
    public static ProxyAdmin start(Vertx vertx, ProxyNode node, MeterRegistry registry) {
        return new ProxyAdmin(vertx, node, registry);
    }

    /** A running admin endpoint of a proxy node: the AdminServer and what serves its pages and API. */
    public record Endpoint(AdminServer server, ProxyAdmin pages) {
        public int port() {
            return server.port();
        }

        public Future<Void> close() {
            pages.close();
            return server.close();
        }
    }

    /**
     * The node's whole admin endpoint on {@code at}: status page, API, cache purge, {@code /metrics} of
     * {@code metrics} (which must be the registry the node was started with), /healthz, /readyz.
     */
    public static Future<Endpoint> serve(Vertx vertx, ProxyNode node, Metrics metrics, HostPort at, AdminAccess access,
                                         Supplier<Boolean> ready) {
        ProxyAdmin pages = start(vertx, node, metrics.registry());
        return AdminServer.start(vertx, at.host(), at.port(), metrics, ready, pages.routes(), access)
                .map(server -> new Endpoint(server, pages))
                .onFailure(t -> pages.close());
    }

    public Map<String, Handler<HttpServerRequest>> routes() {
        Map<String, Handler<HttpServerRequest>> routes = new LinkedHashMap<>(StatusPage.routes("proxy.html"));
        routes.putAll(CacheAdmin.of(node::cache, node.events()).routes());
        routes.put("/api", this::handle);
        return routes;
    }

    public void close() {
        vertx.cancelTimer(timer);
    }

    private void handle(HttpServerRequest req) {
        String path = req.path();
        if (path.equals("/api/status") && req.method() == HttpMethod.GET) {
            json(req, 200, status());
            return;
        }
        if (path.equals("/api/events") && req.method() == HttpMethod.GET) {
            JsonArray out = new JsonArray();
            for (EventLog.Event e : node.events().since(EventLog.afterParam(req.getParam("after")))) {
                out.add(new JsonObject().put("seq", e.seq()).put("time", e.time()).put("kind", e.kind())
                        .put("level", e.level()).put("message", e.message()));
            }
            req.response().setStatusCode(200).putHeader("Content-Type", "application/json").end(out.encode() + "\n");
            return;
        }
        String[] parts = path.split("/");
        // "", "api", "upstreams", name, "servers", host:port, action
        if (parts.length == 7 && parts[2].equals("upstreams") && parts[4].equals("servers")) {
            if (req.method() != HttpMethod.POST) {
                req.response().putHeader("Allow", "POST");
                json(req, 405, new JsonObject().put("error", "use POST"));
                return;
            }
            String upstream = URLDecoder.decode(parts[3], StandardCharsets.UTF_8);
            String server = URLDecoder.decode(parts[5], StandardCharsets.UTF_8);
            boolean drain = parts[6].equals("drain");
            if (!drain && !parts[6].equals("enable")) {
                json(req, 404, new JsonObject().put("error", "unknown action '" + parts[6] + "' (expected: drain or enable)"));
                return;
            }
            UpstreamGroup g = node.upstream(upstream);
            if (g == null) {
                json(req, 404, new JsonObject().put("error", "no upstream '" + upstream + "' (have: "
                        + String.join(", ", node.upstreams().keySet()) + ")"));
                return;
            }
            Peer p = g.peer(server);
            if (p == null) {
                List<String> have = g.peers().stream().map(Peer::key).toList();
                json(req, 404, new JsonObject().put("error", "upstream '" + upstream + "' has no server " + server
                        + " (have: " + String.join(", ", have) + ")"));
                return;
            }
            p.setDrained(drain);
            node.events().info("action", (drain ? "drain " : "enable ") + upstream + "/" + server
                    + " (admin API, from " + req.remoteAddress().hostAddress() + ")");
            json(req, 200, new JsonObject().put("upstream", upstream).put("server", server).put("drained", drain));
            return;
        }
        json(req, 404, new JsonObject().put("error", "not found; try GET /api/status, GET /api/events, "
                + "POST /api/upstreams/{upstream}/servers/{host:port}/drain|enable, POST /api/cache/purge?key=K"));
    }


    /** Everything the status page shows, as of now. */
    JsonObject status() {
        ProxyConfig c = node.config();
        JsonArray listeners = new JsonArray();
        List<Integer> ports = node.listenPorts();
        for (int i = 0; i < c.listeners().size(); i++) {
            ListenerConfig l = c.listeners().get(i);
            listeners.add(new JsonObject().put("name", l.name()).put("host", l.address().host())
                    .put("port", i < ports.size() ? ports.get(i) : l.address().port())
                    .put("tls", l.tls() != null).put("http2", l.tls() != null && l.tls().http2())
                    .put("h2c", l.h2c()).put("proxyProtocol", l.proxyProtocol() != null));
        }
        JsonArray hosts = new JsonArray();
        for (VirtualServerConfig v : c.servers()) {
            JsonArray locs = new JsonArray();
            for (LocationConfig l : v.locations()) {
                locs.add(new JsonObject().put("match", l.kind().name().toLowerCase()).put("path", l.path())
                        .put("upstream", l.upstream())
                        .put("cache", l.features().cache().enabled())
                        .put("static", l.features().staticFiles() != null));
            }
            hosts.add(new JsonObject().put("names", new JsonArray(v.serverNames())).put("default", v.isDefault())
                    .put("listeners", new JsonArray(v.listeners())).put("locations", locs));
        }
        JsonArray upstreams = new JsonArray();
        node.upstreams().forEach((name, g) -> {
            JsonArray servers = new JsonArray();
            for (Peer p : g.peers()) {
                double[] q = p.latencyMillis(0.5, 0.95, 0.99);
                JsonObject lat = q.length == 0 ? null
                        : new JsonObject().put("p50", round(q[0])).put("p95", round(q[1])).put("p99", round(q[2]));
                servers.add(new JsonObject().put("server", p.key()).put("weight", p.weight())
                        .put("backup", p.config().backup())
                        .put("health", health(p)).put("activeHealthy", p.activeHealthy())
                        .put("ejected", p.ejectedNow()).put("drained", p.drained())
                        .put("inFlight", p.active()).put("requests", p.requests()).put("failures", p.failures())
                        .put("ejections", p.ejections()).put("latencyMs", lat));
            }
            upstreams.add(new JsonObject().put("name", name).put("balance", g.config().balance().configName())
                    .put("activeRequests", g.activeRequests()).put("retries", g.retries())
                    .put("retriesRefused", g.retriesRefused())
                    .put("activeHealthChecks", g.config().activeHealth().isPresent())
                    .put("servers", servers));
        });
        CacheFilter cache = node.cache();
        CacheStats st = cache.stats();
        long lookups = st.hits() + st.misses();
        JsonArray top = new JsonArray();
        for (CacheStats.KeyHits k : st.top(TOP_KEYS)) {
            top.add(new JsonObject().put("key", k.key()).put("hits", k.hits()));
        }
        JsonObject cacheJson = new JsonObject().put("name", cache.policy().config().name())
                .put("sizeBytes", cache.store().weightedSize())
                .put("maxBytes", cache.policy().config().maxSize()).put("keys", cache.store().keyCount())
                .put("hits", st.hits()).put("misses", st.misses())
                .put("hitRatio", lookups == 0 ? null : round((double) st.hits() / lookups))
                .put("topKeys", top);
        return new JsonObject().put("node", c.nodeName()).put("listeners", listeners).put("virtualHosts", hosts)
                .put("upstreams", upstreams).put("cache", cacheJson);
    }

    /** up, down (active checks), ejected (passive max_fails), drained (operator). */
    static String health(Peer p) {
        if (p.drained()) {
            return "drained";
        }
        if (!p.activeHealthy()) {
            return "down";
        }
        return p.ejectedNow() ? "ejected" : "up";
    }

    private static double round(double v) {
        return Math.round(v * 1000) / 1000.0;
    }

    private static Map<Tags, Double> certificateRows(ProxyConfig c) {
        Map<Tags, Double> rows = new LinkedHashMap<>();
        for (ListenerConfig l : c.listeners()) {
            if (l.tls() == null) {
                continue;
            }
            for (ListenerConfig.KeyPair kp : l.tls().certificates()) {
                X509Certificate leaf = leaf(kp.cert());
                if (leaf != null) {
                    rows.put(Tags.of("listener", l.name(), "cert", kp.cert().toString(),
                            "subject", leaf.getSubjectX500Principal().getName()), leaf.getNotAfter().getTime() / 1000.0);
                }
            }
        }
        return rows;
    }

    /** The first certificate of a PEM file (the leaf, in a chain file), or null when it cannot be read now. */
    private static X509Certificate leaf(Path pem) {
        try (InputStream in = Files.newInputStream(pem)) {
            for (Certificate cert : CertificateFactory.getInstance("X.509").generateCertificates(in)) {
                if (cert instanceof X509Certificate x) {
                    return x;
                }
            }
            return null;
        } catch (Exception e) {
            return null; // the listener itself reports unreadable files; the gauge just lacks the row
        }
    }

    private static void json(HttpServerRequest req, int status, JsonObject body) {
        req.response().setStatusCode(status).putHeader("Content-Type", "application/json").end(body.encode() + "\n");
    }
}
