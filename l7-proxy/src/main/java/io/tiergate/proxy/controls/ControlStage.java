package io.tiergate.proxy.controls;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.tiergate.proxy.access.AccessRules;
import io.tiergate.proxy.auth.BasicAuth;
import io.tiergate.proxy.auth.Htpasswd;
import io.tiergate.proxy.config.LocationConfig;
import io.tiergate.proxy.config.ProxyConfig;
import io.tiergate.proxy.config.VirtualServerConfig;
import io.tiergate.proxy.limit.ConnLimiter;
import io.tiergate.proxy.limit.LimitConn;
import io.tiergate.proxy.limit.LimitMetrics;
import io.tiergate.proxy.limit.LimitReq;
import io.tiergate.proxy.limit.RateLimiter;
import io.tiergate.proxy.limit.Zones;
import io.tiergate.proxy.log.AccessLog;
import io.tiergate.proxy.log.ProxyMetrics;
import io.tiergate.proxy.request.ProxyRequest;
import io.tiergate.proxy.route.Route;
import io.tiergate.proxy.upstream.UpstreamGroup;
import io.tiergate.shared.runtime.LoopClock;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.core.http.HttpVersion;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.Base64;
import java.util.HexFormat;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Function;

/**
 * The pipeline stage after normalization and routing, before the body is read and anything is forwarded: nginx's
 * preaccess and access phases in nginx's order — {@code limit_conn}, {@code limit_req}, allow/deny, then
 * {@code auth_basic} and {@code auth_request} (as with nginx's {@code satisfy all}). Either it calls {@code proceed} (at once, or later on a timer for a delayed request: an event
 * loop never waits) or it answers the client itself, counts the refusal and writes the access-log line.
 *
 * <p>One per node: the zone tables and htpasswd files outlive reloads (a reload that keeps a zone's definition keeps
 * its counts; a changed definition starts a new table).
 */
public final class ControlStage {
    private static final org.slf4j.Logger log = org.slf4j.LoggerFactory.getLogger(ControlStage.class);
    static final Duration HTPASSWD_CHECK = Duration.ofSeconds(1);

    private final Vertx vertx;
    private final LimitMetrics limitMetrics;
    private final ProxyMetrics metrics;
    private final AccessLog accessLog;
    private final Map<String, RateLimiter> rates = new ConcurrentHashMap<>();
    private final Map<String, ConnLimiter> conns = new ConcurrentHashMap<>();
    private final Map<Path, AtomicReference<Htpasswd>> htpasswd = new ConcurrentHashMap<>();
    // user + SHA-256(password) + file, for a minute: a client sending the right password on every request must not
    // cost a bcrypt per request (that would be a cheap way to exhaust the worker pool).
    private final Cache<String, Boolean> verified = Caffeine.newBuilder().maximumSize(10_000)
            .expireAfterWrite(Duration.ofMinutes(1)).build();
    private volatile ProxyConfig prepared;
    private final ExtAuthClient extAuth;

    public ControlStage(Vertx vertx, ProxyMetrics metrics, AccessLog accessLog) {
        this.vertx = vertx;
        this.metrics = metrics;
        this.limitMetrics = new LimitMetrics(metrics.registry());
        this.accessLog = accessLog;
        this.extAuth = new ExtAuthClient(vertx);
        vertx.setPeriodic(HTPASSWD_CHECK.toMillis(), id -> reloadChangedFiles());
    }

    /** The limiter of zone {@code name} (for tests and the admin view), or null. */
    public RateLimiter rateLimiter(String name) {
        return rates.get(name);
    }

    /** Makes the tables and counters a (new) configuration needs; cheap when {@code config} was already prepared. */
    public void prepare(ProxyConfig config) {
        if (prepared == config) {
            return;
        }
        synchronized (this) {
            if (prepared == config) {
                return;
            }
            for (VirtualServerConfig vs : config.servers()) {
                for (LocationConfig l : vs.locations()) {
                    Controls c = l.controls();
                    for (LimitReq r : c.limitReq()) {
                        rates.compute(r.zone().name(), (k, old) -> old != null && old.zone().equals(r.zone()) ? old
                                : new RateLimiter(r.zone()));
                        limitMetrics.zoneKeys(r.zone().name(), z -> {
                            RateLimiter limiter = rates.get(z);
                            return limiter == null ? 0 : limiter.keys();
                        });
                        limitMetrics.register("limit_req:" + r.zone().name(), r.dryRun()
                                ? new String[] {"dry_run_rejected", "dry_run_delayed"} : new String[] {"rejected", "delayed"});
                    }
                    for (LimitConn r : c.limitConn()) {
                        conns.compute(r.zone().name(), (k, old) -> old != null && old.zone().equals(r.zone()) ? old
                                : new ConnLimiter(r.zone()));
                        limitMetrics.register("limit_conn:" + r.zone().name(), r.dryRun() ? "dry_run_rejected" : "rejected");
                    }
                    if (!c.access().rules().isEmpty()) {
                        limitMetrics.register("access", "rejected");
                    }
                    if (c.basicAuth().on()) {
                        limitMetrics.register("auth_basic", "rejected");
                        // The file as this configuration read it: a reload (SIGHUP) re-reads every user file.
                        htpasswd.computeIfAbsent(c.basicAuth().file(), p -> new AtomicReference<>())
                                .set(c.basicAuth().users());
                    }
                    if (c.extAuth().on()) {
                        limitMetrics.register("auth_request", c.extAuth().failureAllow() ? "failure_allowed"
                                : "rejected");
                        limitMetrics.register("auth_request", "rejected");
                    }
                    if (c.maxBodySize() >= 0) {
                        limitMetrics.register("max_body_size", "rejected");
                    }
                }
            }
            prepared = config;
        }
    }

    /** Counts a refusal that happened outside this stage (e.g. a body over a location's max_body_size). */
    public void counted(String limit, String action) {
        limitMetrics.count(limit, action);
    }

    /** Runs the controls of {@code route}'s location for {@code r}; then {@code proceed}, unless it answered. */
    public void run(ProxyRequest r, Route route, Function<String, UpstreamGroup> groups, Runnable proceed) {
        Controls c = route.location().controls();
        if (c.none()) {
            proceed.run();
            return;
        }
        String label = route.location().label();
        for (LimitConn lc : c.limitConn()) {
            String key = lc.zone().key().of(r, label);
            if (key == null) {
                continue;
            }
            ConnLimiter limiter = conns.get(lc.zone().name());
            String name = "limit_conn:" + lc.zone().name();
            if (!limiter.acquire(key, lc.max())) {
                if (lc.dryRun()) {
                    note(r, name, "dry_run_rejected");
                    continue;
                }
                refuse(r, route, name, lc.status(), "more than " + lc.max()
                        + " requests in progress for this key (zone " + lc.zone().name() + ")", null);
                return;
            }
            r.notes().onEnd(() -> limiter.release(key));
        }
        long delay = 0;
        long now = LoopClock.nanoTime() / 1_000_000;
        for (LimitReq lr : c.limitReq()) {
            String key = lr.zone().key().of(r, label);
            if (key == null) {
                continue;
            }
            String name = "limit_req:" + lr.zone().name();
            RateLimiter.Verdict v = rates.get(lr.zone().name()).take(key, lr, now);
            if (v.refused()) {
                if (lr.dryRun()) {
                    note(r, name, "dry_run_rejected");
                    continue;
                }
                refuse(r, route, name, lr.status(), "request rate over " + lr.zone().rateText()
                        + " (burst " + lr.burst() + ")", Long.toString(v.retryAfterSeconds()));
                return;
            }
            if (v.delayMillis() > 0) {
                note(r, name, lr.dryRun() ? "dry_run_delayed" : "delayed");
                if (!lr.dryRun()) {
                    delay = Math.max(delay, v.delayMillis());
                }
            }
        }
        Runnable access = () -> access(r, route, c, groups, proceed);
        if (delay <= 0) {
            access.run();
            return;
        }
        vertx.setTimer(delay, id -> whenOpen(r, route, access));
    }

    private void access(ProxyRequest r, Route route, Controls c, Function<String, UpstreamGroup> groups,
                        Runnable proceed) {
        AccessRules.Rule rule = c.access().decide(r.clientIp());
        if (rule != null && !rule.allow()) {
            refuse(r, route, "access", 403, "access forbidden by rule '" + rule + "'", null);
            return;
        }
        Runnable ext = !c.extAuth().on() ? proceed
                : () -> extAuth.check(r, c.extAuth(), groups, answer -> whenOpen(r, route, () -> {
                    switch (answer.verdict()) {
                        case ALLOW -> proceed.run();
                        case FAILURE_ALLOWED -> {
                            note(r, "auth_request", "failure_allowed");
                            proceed.run();
                        }
                        case DENY -> {
                            if (answer.wwwAuthenticate() != null) {
                                r.raw().response().putHeader("WWW-Authenticate", answer.wwwAuthenticate());
                            }
                            refuse(r, route, "auth_request", answer.status(), answer.reason(), null);
                        }
                    }
                }));
        if (!c.basicAuth().on()) {
            ext.run();
            return;
        }
        basicAuth(r, route, c.basicAuth(), ext);
    }

    /** Runs {@code next} unless the client left while we waited (then the request ends here, logged as 499). */
    private void whenOpen(ProxyRequest r, Route route, Runnable next) {
        if (r.raw().response().closed()) {
            r.notes().ended();
            logged(r, route, 499);
            return;
        }
        next.run();
    }

    private void basicAuth(ProxyRequest r, Route route, BasicAuth auth, Runnable proceed) {
        String[] cred = credentials(r.raw().getHeader("Authorization"));
        if (cred == null) {
            unauthorized(r, route, auth, "no user/password was provided for basic authentication");
            return;
        }
        Htpasswd users = htpasswd.get(auth.file()).get();
        String cacheKey = cred[0] + "\u0000" + sha256(cred[1]) + "\u0000" + System.identityHashCode(users);
        if (verified.getIfPresent(cacheKey) != null) {
            proceed.run();
            return;
        }
        vertx.executeBlocking(() -> users.verify(cred[0], cred[1]), false).onComplete(ar -> {
            if (ar.succeeded() && ar.result()) {
                verified.put(cacheKey, Boolean.TRUE);
                whenOpen(r, route, proceed);
            } else {
                if (ar.failed()) {
                    log.error("verifying the password of '{}' failed", cred[0], ar.cause());
                }
                unauthorized(r, route, auth, "user '" + cred[0] + "': wrong password or unknown user");
            }
        });
    }

    private void unauthorized(ProxyRequest r, Route route, BasicAuth auth, String why) {
        r.raw().response().putHeader("WWW-Authenticate", "Basic realm=\"" + auth.realm() + "\", charset=\"UTF-8\"");
        refuse(r, route, "auth_basic", 401, why, null);
    }

    /** {user, password} from a Basic Authorization header, or null. */
    static String[] credentials(String header) {
        if (header == null || header.length() < 7 || !header.regionMatches(true, 0, "Basic ", 0, 6)) {
            return null;
        }
        String decoded;
        try {
            decoded = new String(Base64.getDecoder().decode(header.substring(6).trim()), StandardCharsets.UTF_8);
        } catch (IllegalArgumentException e) {
            return null;
        }
        int colon = decoded.indexOf(':');
        return colon <= 0 ? null : new String[] {decoded.substring(0, colon), decoded.substring(colon + 1)};
    }

    private static String sha256(String s) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(s.getBytes(StandardCharsets.UTF_8)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private void note(ProxyRequest r, String limit, String action) {
        limitMetrics.count(limit, action);
        r.notes().limit(limit + ":" + action);
        if (action.startsWith("dry_run")) {
            log.info("{} {} {}: {} (dry run, not enforced)", r.clientIp(), r.method(), r.path(), limit + " " + action);
        }
    }

    /** Answers {@code status} without forwarding; counts it and writes the access-log line. */
    private void refuse(ProxyRequest r, Route route, String limit, int status, String why, String retryAfter) {
        limitMetrics.count(limit, "rejected");
        r.notes().limit(limit + ":rejected");
        r.notes().ended();
        HttpServerRequest req = r.raw();
        HttpServerResponse resp = req.response();
        if (resp.ended() || resp.closed()) {
            return;
        }
        resp.setStatusCode(status).putHeader("Content-Type", "text/plain; charset=utf-8");
        if (retryAfter != null) {
            resp.putHeader("Retry-After", retryAfter);
        }
        resp.end(status + " " + HttpResponseStatus.valueOf(status).reasonPhrase() + ": " + why + "\n");
        req.resume();
        logged(r, route, resp.getStatusCode());
    }

    private void logged(ProxyRequest r, Route route, int status) {
        HttpServerRequest req = r.raw();
        String group = route.location().upstream() == null ? "-" : route.location().upstream();
        metrics.request(route.location().label(), group, status, 0);
        accessLog.log(new AccessLog.Entry(LoopClock.currentTimeMillis(), r.clientIp(), req.method().name(), req.uri(),
                req.version() == HttpVersion.HTTP_2 ? "HTTP/2" : req.version() == HttpVersion.HTTP_1_0 ? "HTTP/1.0"
                        : "HTTP/1.1", status, req.response().bytesWritten(), req.getHeader(HttpHeaderNames.REFERER),
                req.getHeader(HttpHeaderNames.USER_AGENT), 0, route.location().label(), group, "-", "-", 0, "-", null,
                r.requestId(), r.notes().limit()));
    }

    /** Re-reads every htpasswd file whose modification time or size changed; a bad edit keeps the old users. */
    private void reloadChangedFiles() {
        if (htpasswd.isEmpty()) {
            return;
        }
        vertx.executeBlocking(() -> {
            htpasswd.forEach((path, ref) -> {
                Htpasswd cur = ref.get();
                if (cur == null || !cur.changed()) {
                    return;
                }
                try {
                    Htpasswd fresh = Htpasswd.load(path);
                    ref.set(fresh);
                    log.info("auth_basic: re-read {} ({} users)", path, fresh.users());
                } catch (Htpasswd.Invalid e) {
                    cur.noteSeen();
                    log.error("auth_basic: {}; still using the previous version of the file", e.getMessage());
                }
            });
            return null;
        }, true);
    }
}
