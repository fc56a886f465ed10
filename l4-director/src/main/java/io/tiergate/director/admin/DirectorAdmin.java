package io.tiergate.director.admin;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import io.tiergate.director.engine.Engine;
import io.tiergate.director.engine.StepReport;
import io.tiergate.director.engine.UnknownRealServerException;
import io.tiergate.shared.admin.AdminAccess;
import io.tiergate.shared.admin.AdminServer;
import io.tiergate.shared.admin.EventLog;
import io.tiergate.shared.admin.StatusPage;
import io.tiergate.shared.config.HostPort;
import io.tiergate.shared.metrics.Metrics;
import io.vertx.core.Future;
import io.vertx.core.Handler;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServerRequest;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.CompletableFuture;

/**
 * The director's part of the admin endpoint (on the shared AdminServer, which adds /metrics, /healthz, /readyz):
 *
 * <pre>
 * GET  /                                                the status page (HTML, polls the JSON below)
 * GET  /api/status                                      every service, real server, weight, health, counters (JSON)
 * GET  /api/events?after=N                              recent events (health flips, role changes, reloads, actions)
 * POST /api/services/{service}/real-servers/{rs}/drain  weight 0, established connections continue
 * POST /api/services/{service}/real-servers/{rs}/enable back to the configured weight
 * POST /api/drain-all                                   BGP: withdraw every VIP (the routers move flows elsewhere)
 * POST /api/enable-all                                  BGP: announce again what this director can serve
 * </pre>
 *
 * Its meters ({@link DirectorMetrics}) are refreshed from the engine once a second, so a scrape never waits on the
 * engine thread. Credentials and TLS come from {@link AdminAccess}; docs/admin-api.md has every endpoint.
 */
public final class DirectorAdmin {
    private static final Logger log = LoggerFactory.getLogger(DirectorAdmin.class);
    static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    private volatile AdminServer server;
    private final Metrics metrics;
    private final Vertx vertx;
    private final long timer;
    private final DirectorMetrics meters;
    private final Wiring wiring; // fleet: where drain-all / enable-all go, set by fleet() with director.bgp

    /** Whole-director actions: BGP withdraws or re-announces every VIP ({@code drain --all}, {@code enable --all}). */
    public interface Fleet {
        CompletableFuture<Void> drainAll();

        CompletableFuture<Void> enableAll();
    }

    private DirectorAdmin(Vertx vertx, AdminServer server, Metrics metrics, long timer, DirectorMetrics meters,
                          Wiring wiring) {
        this.wiring = wiring;
        this.vertx = vertx;
        this.server = server;
        this.metrics = metrics;
        this.timer = timer;
        this.meters = meters;
    }

    /** Brings the meters up to date now (the timer does it every second). */
    public void refresh(Engine engine) {
        engine.status().thenAccept(meters::update).join();
    }

    /** The director's meters (reload counters among them). */
    public DirectorMetrics meters() {
        return meters;
    }

    public static DirectorAdmin start(Vertx vertx, HostPort at, Engine engine) throws Exception {
        return start(vertx, at, AdminAccess.OPEN, engine, new EventLog());
    }

    public static DirectorAdmin start(Vertx vertx, HostPort at, AdminAccess access, Engine engine, EventLog events)
            throws Exception {
        Metrics metrics = new Metrics(Map.of("tier", "director"));
        DirectorMetrics gauges = new DirectorMetrics(metrics.registry());
        io.tiergate.director.ha.VrrpMetrics vrrp = new io.tiergate.director.ha.VrrpMetrics(metrics.registry());
        java.util.function.Consumer<io.tiergate.director.engine.DirectorStatus> refresh = st -> {
            gauges.update(st);
            vrrp.update(st.ha() == null ? null : st.ha().mismatchTotals(), st.ha() != null && st.ha().splitBrain());
        };
        java.util.concurrent.atomic.AtomicReference<Fleet> fleet = new java.util.concurrent.atomic.AtomicReference<>();
        AdminServer server = listen(vertx, at, engine, metrics, new Wiring(access, events, fleet));
        long timer = vertx.setPeriodic(1000, id -> engine.status().thenAccept(refresh));
        engine.status().thenAccept(refresh).join(); // series exist before the first scrape
        return new DirectorAdmin(vertx, server, metrics, timer, gauges, new Wiring(access, events, fleet));
    }

    /** What every admin socket of this director serves besides the engine: credentials, the event log, BGP actions. */
    private record Wiring(AdminAccess access, EventLog events,
                          java.util.concurrent.atomic.AtomicReference<Fleet> fleet) {
    }

    private static AdminServer listen(Vertx vertx, HostPort at, Engine engine, Metrics metrics, Wiring w)
            throws Exception {
        Handler<HttpServerRequest> api = req -> {
            if (!handleFleet(req, w.fleet().get())) {
                handle(req, engine, w.events());
            }
        };
        Map<String, Handler<HttpServerRequest>> routes = new LinkedHashMap<>(StatusPage.routes("director.html"));
        routes.put("/api", api);
        return AdminServer.start(vertx, at.host(), at.port(), metrics, engine::ready, routes, w.access())
                .toCompletionStage().toCompletableFuture().get();
    }

    /**
     * A reload's new {@code admin} address: the endpoint listens there first, then the old socket closes (requests
     * on it finish). When the new address cannot be bound the old one stays and this throws. Metrics carry over.
     */
    public synchronized void moveTo(HostPort at, Engine engine) throws Exception {
        AdminServer next = listen(vertx, at, engine, metrics, wiring);
        AdminServer old = server;
        server = next;
        old.close();
    }

    /** Where drain-all / enable-all go; unset (409) without director.bgp. */
    public void fleet(Fleet f) {
        wiring.fleet().set(f);
    }

    /** The registry /metrics serves, for the parts of the director that add their own meters (BGP). */
    public io.micrometer.core.instrument.MeterRegistry registry() {
        return metrics.registry();
    }

    private static boolean handleFleet(HttpServerRequest req, Fleet fleet) {
        String path = req.path();
        if (!path.equals("/api/drain-all") && !path.equals("/api/enable-all")) {
            return false;
        }
        if (req.method() != HttpMethod.POST) {
            req.response().setStatusCode(405).putHeader("Allow", "POST").end("use POST\n");
        } else if (fleet == null) {
            req.response().setStatusCode(409).putHeader("Content-Type", "application/json").end(
                    "{\"error\": \"drain --all and enable --all withdraw and re-announce the VIPs over BGP; this director "
                    + "has no director.bgp section (drain real servers one by one instead)\"}\n");
        } else {
            reply(req, (path.equals("/api/drain-all") ? fleet.drainAll() : fleet.enableAll())
                    .thenApply(v -> Map.of("ok", true)));
        }
        return true;
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
}
