package io.tiergate.shared.admin;

import io.tiergate.shared.metrics.Metrics;
import io.vertx.core.Future;
import io.vertx.core.Handler;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.net.PemKeyCertOptions;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The small operator-facing HTTP endpoint every Tiergate process runs: {@code /metrics}
 * (Prometheus), {@code /healthz} (liveness: the event loop answers), {@code /readyz} (readiness, as
 * the caller defines it) and whatever routes the tier adds (the director's and proxy's
 * {@code /api/...}). It binds to 127.0.0.1 unless told otherwise: it is not meant to face clients.
 *
 * <p>An extra route {@code /api} serves {@code /api} itself and everything under {@code /api/},
 * but not {@code /apis}; the longest matching route wins; a route {@code /} serves only {@code /} itself (the
 * status page). Built-in paths cannot be overridden.
 *
 * <p>Access ({@link AdminAccess}): with credentials configured, every request that is not GET/HEAD needs them, and
 * so do reads when {@code protect_reads} is on, except {@code /healthz} and {@code /readyz} (probes) and the status
 * page's static files ({@code /} and {@code /ui/...}: they hold no data; the data comes from {@code /api} with the
 * token). Missing credentials get 401, wrong ones 403 (also on a read that needs none). A mutating request from
 * another web origin ({@code Origin} not this endpoint) gets 403 whatever the credentials: a page elsewhere must not
 * drive a browser that can reach the admin port into draining servers. Without credentials, only requests addressed
 * to an IP address or {@code localhost} are served (403 otherwise): a web page cannot reach the endpoint by rebinding
 * a DNS name of its own to 127.0.0.1.
 */
public final class AdminServer {

    public static final String DEFAULT_HOST = "127.0.0.1";

    private static final Logger log = LoggerFactory.getLogger(AdminServer.class);

    private final HttpServer server;

    private AdminServer(HttpServer server) {
        this.server = server;
    }

    /**
     * @param host bind address; null means {@value #DEFAULT_HOST}
     * @param port 0 picks a free port (see {@link #port()})
     * @param metrics null serves 404 on /metrics
     * @param ready null means always ready
     * @param extraRoutes path prefix → handler; the handler must end the response
     */
    public static Future<AdminServer> start(Vertx vertx, String host, int port, Metrics metrics,
                                            Supplier<Boolean> ready,
                                            Map<String, Handler<HttpServerRequest>> extraRoutes) {
        return start(vertx, host, port, metrics, ready, extraRoutes, AdminAccess.OPEN);
    }

    /** As above, with credentials and/or TLS ({@code admin_auth:}, {@code admin_tls:}). */
    public static Future<AdminServer> start(Vertx vertx, String host, int port, Metrics metrics,
                                            Supplier<Boolean> ready,
                                            Map<String, Handler<HttpServerRequest>> extraRoutes, AdminAccess access) {
        Objects.requireNonNull(vertx, "vertx");
        Objects.requireNonNull(access, "access");
        if (port < 0 || port > 65535) {
            throw new IllegalArgumentException("port: " + port + " (expected: 0..65535)");
        }
        List<Map.Entry<String, Handler<HttpServerRequest>>> routes = new ArrayList<>();
        if (extraRoutes != null) {
            for (Map.Entry<String, Handler<HttpServerRequest>> e : extraRoutes.entrySet()) {
                String prefix = e.getKey();
                if (prefix == null || !prefix.startsWith("/")) {
                    throw new IllegalArgumentException("extraRoutes: \"" + prefix + "\" (expected: a path starting with /)");
                }
                routes.add(Map.entry(prefix, Objects.requireNonNull(e.getValue(), "handler for " + prefix)));
            }
        }
        routes.sort(Comparator.comparingInt((Map.Entry<String, ?> e) -> e.getKey().length()).reversed());
        Handler<HttpServerRequest> handler = req -> {
            if (!allowed(req, access)) {
                return;
            }
            if (req.path().equals("/api/access")) {
                if (readOnly(req)) {
                    describeAccess(req, access);
                }
                return;
            }
            route(vertx, req, metrics, ready, routes);
        };
        HttpServerOptions options = new HttpServerOptions();
        access.tls().ifPresent(t -> options.setSsl(true).setKeyCertOptions(new PemKeyCertOptions()
                .setCertPath(t.cert().toString()).setKeyPath(t.key().toString())));
        return vertx.createHttpServer(options)
                .requestHandler(handler)
                .listen(port, host == null ? DEFAULT_HOST : host)
                .map(AdminServer::new);
    }

    /** Answers 401/403 and returns false when {@code req} may not go on (see the class comment). */
    static boolean allowed(HttpServerRequest req, AdminAccess access) {
        req.response().putHeader("X-Content-Type-Options", "nosniff").putHeader("Cache-Control", "no-store");
        String path = req.path();
        boolean read = req.method() == HttpMethod.GET || req.method() == HttpMethod.HEAD;
        if (!read && crossOrigin(req)) {
            text(req, 403, "refused: a request from another web origin (" + req.getHeader("Origin")
                    + ") may not change anything here\n");
            return false;
        }
        if (path.equals("/healthz") || path.equals("/readyz")) {
            return true;
        }
        if (!access.authConfigured() && !literalHost(req)) {
            text(req, 403, "refused: without admin_auth this endpoint answers only requests addressed to an IP address"
                    + " or localhost (a DNS name could be rebound to it by a web page); set admin_auth to use a name\n");
            return false;
        }
        if (path.equals("/api/access")
                || (read && (path.equals("/") || path.startsWith("/ui/")))) {
            return true;
        }
        if (read && !access.protectReads() && req.getHeader("Authorization") == null) {
            return true; // credentials that are sent must be right, even where none are needed: a typo shows at once
        }
        return switch (access.check(req)) {
            case AUTHENTICATED, OPEN -> true;
            case MISSING -> {
                req.response().putHeader("WWW-Authenticate", "Bearer realm=\"tiergate-admin\"");
                text(req, 401, "authentication required: send Authorization: Bearer <token from admin_auth.token_file>"
                        + (access.basicUser().isPresent() ? " or basic auth" : "") + "\n");
                yield false;
            }
            case WRONG -> {
                text(req, 403, "forbidden: wrong credentials\n");
                yield false;
            }
        };
    }

    /**
     * {@code GET /api/access}: what the status page needs to know to show or hide its token field and actions.
     * Says nothing secret: whether credentials are configured and whether this request's are right.
     */
    private static void describeAccess(HttpServerRequest req, AdminAccess access) {
        AdminAccess.Verdict v = access.check(req);
        String body = "{\"auth\":" + access.authConfigured()
                + ",\"protectReads\":" + access.protectReads()
                + ",\"basic\":" + access.basicUser().isPresent()
                + ",\"authenticated\":" + (v == AdminAccess.Verdict.AUTHENTICATED)
                + ",\"canAct\":" + (v == AdminAccess.Verdict.AUTHENTICATED || v == AdminAccess.Verdict.OPEN)
                + ",\"tls\":" + access.tls().isPresent() + "}\n";
        req.response().putHeader("Content-Type", "application/json").end(body);
    }

    /**
     * Whether the request's Host is an IP literal or localhost. Without credentials that is what keeps a web page from
     * reaching the endpoint through DNS rebinding: its requests carry the attacker's host name.
     */
    static boolean literalHost(HttpServerRequest req) {
        if (req.authority() == null) {
            return true; // HTTP/1.0 without Host: not a browser
        }
        String host = req.authority().host();
        if (host.startsWith("[")) {
            host = host.substring(1, host.length() - 1);
        }
        return host.equalsIgnoreCase("localhost") || host.matches("[0-9.]+") || host.contains(":");
    }

    private static boolean crossOrigin(HttpServerRequest req) {
        if ("cross-site".equals(req.getHeader("Sec-Fetch-Site"))) {
            return true;
        }
        String origin = req.getHeader("Origin");
        if (origin == null) {
            return false; // curl, the CLI, scripts
        }
        String host = req.authority() == null ? null : req.authority().toString();
        return host == null || !(origin.equals("http://" + host) || origin.equals("https://" + host));
    }

    private static void route(Vertx vertx, HttpServerRequest req, Metrics metrics, Supplier<Boolean> ready,
                              List<Map.Entry<String, Handler<HttpServerRequest>>> routes) {
        String path = req.path();
        try {
            switch (path) {
                case "/metrics" -> {
                    if (metrics == null) {
                        text(req, 404, "not found\n");
                    } else if (readOnly(req)) {
                        scrape(vertx, req, metrics);
                    }
                    return;
                }
                case "/healthz" -> {
                    if (readOnly(req)) {
                        text(req, 200, "ok\n");
                    }
                    return;
                }
                case "/readyz" -> {
                    if (readOnly(req)) {
                        boolean ok = ready == null || Boolean.TRUE.equals(ready.get());
                        text(req, ok ? 200 : 503, ok ? "ready\n" : "not ready\n");
                    }
                    return;
                }
                default -> {
                }
            }
            for (Map.Entry<String, Handler<HttpServerRequest>> r : routes) {
                String prefix = r.getKey();
                if (path.equals(prefix) || (!prefix.equals("/")
                        && path.startsWith(prefix.endsWith("/") ? prefix : prefix + "/"))) {
                    r.getValue().handle(req);
                    return;
                }
            }
            text(req, 404, "not found\n");
        } catch (RuntimeException e) {
            failed(req, e);
        }
    }

    /** A handler that throws is a bug: the stack trace goes to the log, not into the response. */
    private static void failed(HttpServerRequest req, Throwable e) {
        log.error("admin request {} {} failed", req.method(), req.path(), e);
        if (!req.response().headWritten()) {
            text(req, 500, "internal error\n");
        } else {
            req.connection().close();
        }
    }

    /**
     * Renders /metrics on a worker thread. A scrape renders every series: with 200 locations that is ~4,500 lines and
     * tens to hundreds of milliseconds, and on the event loop it stalled every connection that loop serves, proxied
     * requests included (docs/benchmarks.md, "A scrape of /metrics and the traffic"; bench/scrape-stall.sh).
     */
    private static void scrape(Vertx vertx, HttpServerRequest req, Metrics metrics) {
        vertx.executeBlocking(metrics::scrape, false).onComplete(ar -> {
            if (ar.succeeded()) {
                req.response().putHeader("Content-Type", Metrics.CONTENT_TYPE).end(ar.result());
            } else {
                failed(req, ar.cause());
            }
        });
    }

    private static boolean readOnly(HttpServerRequest req) {
        if (req.method() == HttpMethod.GET || req.method() == HttpMethod.HEAD) {
            return true;
        }
        req.response().putHeader("Allow", "GET, HEAD");
        text(req, 405, "method not allowed\n");
        return false;
    }

    private static void text(HttpServerRequest req, int status, String body) {
        req.response().setStatusCode(status).putHeader("Content-Type", "text/plain; charset=utf-8").end(body);
    }

    /** The port actually bound (useful after asking for port 0). */
    public int port() {
        return server.actualPort();
    }

    public Future<Void> close() {
        return server.close();
    }
}
