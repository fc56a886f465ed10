package io.tiergate.director.admin;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import io.tiergate.director.engine.DirectorStatus;
import io.tiergate.director.engine.Engine;
import io.tiergate.director.engine.ServiceStatus;
import io.tiergate.director.engine.StepReport;
import io.tiergate.director.engine.UnknownRealServerException;
import io.tiergate.shared.admin.AdminAccess;
import io.tiergate.shared.admin.AdminServer;
import io.tiergate.shared.admin.EventLog;
import io.tiergate.shared.admin.StatusPage;
import io.tiergate.shared.config.HostPort;
import io.tiergate.shared.metrics.Metrics;
import io.micrometer.core.instrument.MultiGauge;
import io.micrometer.core.instrument.Tags;
import io.vertx.core.Future;
import io.vertx.core.Handler;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServerRequest;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.function.ToDoubleFunction;

/**
 * The director's part of the admin endpoint (on the shared AdminServer, which adds /metrics, /healthz, /readyz):
 *
 * <pre>
 * GET  /                                                the status page (HTML, polls the JSON below)
 * GET  /api/status                                      every service, real server, weight, health, counters (JSON)
 * GET  /api/events?after=N                              recent events (health flips, role changes, reloads, actions)
 * POST /api/services/{service}/real-servers/{rs}/drain  weight 0, established connections continue
 * POST /api/services/{service}/real-servers/{rs}/enable back to the configured weight
 * </pre>
 *
 * Prometheus gauges per real server are refreshed from the engine once a second, so a scrape never waits on the
 * engine thread. Credentials and TLS come from {@link AdminAccess}; docs/admin-api.md has every endpoint.
 */
public final class DirectorAdmin {
    private static final Logger log = LoggerFactory.getLogger(DirectorAdmin.class);
    static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    private final AdminServer server;
    private final Metrics metrics;
    private final Vertx vertx;
    private final long timer;

    private DirectorAdmin(Vertx vertx, AdminServer server, Metrics metrics, long timer) {
        this.vertx = vertx;
        this.server = server;
        this.metrics = metrics;
        this.timer = timer;
    }

    public static DirectorAdmin start(Vertx vertx, HostPort at, Engine engine) throws Exception {
        return start(vertx, at, AdminAccess.OPEN, engine, new EventLog());
    }

    public static DirectorAdmin start(Vertx vertx, HostPort at, AdminAccess access, Engine engine, EventLog events)
            throws Exception {
        Metrics metrics = new Metrics(Map.of("tier", "director"));
        Gauges gauges = new Gauges(metrics);
        Handler<HttpServerRequest> api = req -> handle(req, engine, events);
        Map<String, Handler<HttpServerRequest>> routes = new LinkedHashMap<>(StatusPage.routes("director.html"));
        routes.put("/api", api);
        AdminServer server = AdminServer.start(vertx, at.host(), at.port(), metrics, () -> true, routes, access)
                .toCompletionStage().toCompletableFuture().get();
        long timer = vertx.setPeriodic(1000, id -> engine.status().thenAccept(gauges::update));
        engine.status().thenAccept(gauges::update);
        return new DirectorAdmin(vertx, server, metrics, timer);
    }

    public int port() {
        return server.port();
    }

    public void close() {
        vertx.cancelTimer(timer);
        server.close();
        metrics.close();
    }

    private static void handle(HttpServerRequest req, Engine engine, EventLog events) {
        String path = req.path();
        if (path.equals("/api/status") && req.method() == HttpMethod.GET) {
            reply(req, engine.status());
            return;
        }
        if (path.equals("/api/events") && req.method() == HttpMethod.GET) {
            reply(req, CompletableFuture.completedFuture(events.since(EventLog.afterParam(req.getParam("after")))));
            return;
        }
        String[] parts = path.split("/");
        // "", "api", "services", svc, "real-servers", rs, action
        if (parts.length == 7 && parts[2].equals("services") && parts[4].equals("real-servers")) {
            if (req.method() != HttpMethod.POST) {
                req.response().setStatusCode(405).putHeader("Allow", "POST").end("use POST\n");
                return;
            }
            String svc = URLDecoder.decode(parts[3], StandardCharsets.UTF_8);
            String rs = URLDecoder.decode(parts[5], StandardCharsets.UTF_8);
            CompletableFuture<StepReport> f = switch (parts[6]) {
                case "drain" -> engine.drain(svc, rs);
                case "enable" -> engine.enable(svc, rs);
                default -> null;
            };
            if (f != null) {
                String action = parts[6];
                reply(req, f.whenComplete((r, e) -> {
                    if (e == null) {
                        events.info("action", action + " " + svc + "/" + rs + " (admin API, from "
                                + req.remoteAddress().hostAddress() + ")");
                    }
                }));
                return;
            }
        }
        req.response().setStatusCode(404).putHeader("Content-Type", "text/plain").end(
                "not found; try GET /api/status or POST /api/services/{service}/real-servers/{rs}/drain|enable\n");
    }


    private static void reply(HttpServerRequest req, CompletableFuture<?> f) {
        f.whenComplete((v, err) -> {
            Throwable cause = err != null && err.getCause() != null ? err.getCause() : err;
            try {
                if (cause instanceof UnknownRealServerException u) {
                    json(req, 404, Map.of("error", u.getMessage()));
                } else if (cause != null) {
                    log.error("admin {} failed", req.path(), cause);
                    json(req, 500, Map.of("error", String.valueOf(cause.getMessage())));
                } else {
                    json(req, 200, v);
                }
            } catch (Exception e) {
                log.error("admin reply failed", e);
            }
        });
    }

    private static void json(HttpServerRequest req, int status, Object body) throws Exception {
        String text = JSON.writeValueAsString(body) + "\n";
        req.response().setStatusCode(status).putHeader("Content-Type", "application/json").end(text);
    }

    /** Per-real-server gauges; rows come and go with the config, so they are MultiGauges re-registered each refresh. */
    private static final class Gauges {
        private final Map<String, MultiGauge> gauges = new LinkedHashMap<>();
        private final Map<String, ToDoubleFunction<ServiceStatus.RealServerStatus>> values = new LinkedHashMap<>();

        Gauges(Metrics metrics) {
            add(metrics, "tiergate_director_real_server_weight", "effective weight in the dataplane", r -> r.effectiveWeight());
            add(metrics, "tiergate_director_real_server_up", "1 when the health check says up (or not checked)",
                    r -> r.health().equals("down") ? 0 : 1);
            add(metrics, "tiergate_director_real_server_active_connections", "active connections (-1 unknown)", r -> r.activeConnections());
            add(metrics, "tiergate_director_real_server_connections", "connections since start (-1 unknown)", r -> r.connections());
            add(metrics, "tiergate_director_real_server_bytes_in", "bytes client to real server (-1 unknown)", r -> r.bytesIn());
            add(metrics, "tiergate_director_real_server_bytes_out", "bytes real server to client (-1 unknown)", r -> r.bytesOut());
            add(metrics, "tiergate_director_real_server_packets_in", "packets client to real server (-1 unknown)", r -> r.packetsIn());
            add(metrics, "tiergate_director_real_server_packets_out", "packets real server to client (-1 unknown)", r -> r.packetsOut());
        }

        private void add(Metrics metrics, String name, String help, ToDoubleFunction<ServiceStatus.RealServerStatus> f) {
            gauges.put(name, MultiGauge.builder(name).description(help).register(metrics.registry()));
            values.put(name, f);
        }

        void update(DirectorStatus status) {
            gauges.forEach((name, g) -> {
                List<MultiGauge.Row<?>> rows = new ArrayList<>();
                for (ServiceStatus s : status.services()) {
                    for (ServiceStatus.RealServerStatus r : s.realServers()) {
                        double v = values.get(name).applyAsDouble(r);
                        rows.add(MultiGauge.Row.of(Tags.of("service", s.name(), "vip", s.key().toString(),
                                "real_server", r.id()), v));
                    }
                }
                g.register(rows, true);
            });
        }
    }
}
