package io.tiergate.proxy.admin;

import io.netty.handler.codec.http.QueryStringDecoder;
import io.tiergate.proxy.cache.CacheFilter;
import io.tiergate.shared.admin.EventLog;
import io.vertx.core.Handler;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.json.JsonObject;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.function.Supplier;

/**
 * The cache's admin routes, for {@code AdminServer}'s extraRoutes:
 * {@code POST|DELETE /api/cache/purge?key=K} removes one cache key (all its Vary variants);
 * {@code ?prefix=P} removes every key starting with P. Parameters may also come as a form body
 * ({@code application/x-www-form-urlencoded}). Keys are the expanded key template of the location, by default
 * {@code $scheme://$host$request_uri} (e.g. {@code http://example.com/assets/app.css}). Answers JSON:
 * {@code {"purged": N, "key": K}} or {@code {"purged": N, "prefix": P}}; a user mistake gets a 4xx with
 * {@code {"error": ...}}.
 */
public final class CacheAdmin implements Handler<HttpServerRequest> {
    public static final String PURGE_PATH = "/api/cache/purge";
    private static final Logger log = LoggerFactory.getLogger(CacheAdmin.class);
    private static final int MAX_BODY = 64 * 1024;

    private final Supplier<CacheFilter> cache;
    private final EventLog events;

    private CacheAdmin(Supplier<CacheFilter> cache, EventLog events) {
        this.cache = Objects.requireNonNull(cache, "cache");
        this.events = Objects.requireNonNull(events, "events");
    }

    public static CacheAdmin of(Supplier<CacheFilter> cache) {
        return new CacheAdmin(cache, new EventLog(1));
    }

    /** Purges are also told to {@code events} (the status page's list). */
    public static CacheAdmin of(Supplier<CacheFilter> cache, EventLog events) {
        return new CacheAdmin(cache, events);
    }

    /** The route table entry to merge into AdminServer's extraRoutes. */
    public Map<String, Handler<HttpServerRequest>> routes() {
        return Map.of(PURGE_PATH, this);
    }

    @Override
    public void handle(HttpServerRequest req) {
        if (!req.path().equals(PURGE_PATH)) {
            json(req, 404, new JsonObject().put("error", "no such route: " + req.path()));
            return;
        }
        if (req.method() != HttpMethod.POST && req.method() != HttpMethod.DELETE) {
            req.response().putHeader("Allow", "POST, DELETE");
            json(req, 405, new JsonObject().put("error", "method " + req.method() + " (expected: POST or DELETE)"));
            return;
        }
        String len = req.getHeader("Content-Length");
        if (len != null && len.matches("\\d{1,18}") && Long.parseLong(len) > MAX_BODY) {
            json(req, 413, new JsonObject().put("error", "body larger than " + MAX_BODY + " bytes"));
            return;
        }
        req.body().onComplete(ar -> {
            if (ar.failed()) {
                req.connection().close();
                return;
            }
            Map<String, List<String>> params = new HashMap<>(new QueryStringDecoder(req.uri()).parameters());
            String ct = req.getHeader("Content-Type");
            if (ar.result().length() > 0 && ct != null && ct.toLowerCase().startsWith("application/x-www-form-urlencoded")) {
                params.putAll(new QueryStringDecoder(ar.result().toString(StandardCharsets.UTF_8), false).parameters());
            }
            purge(req, params);
        });
    }

    private void purge(HttpServerRequest req, Map<String, List<String>> params) {
        List<String> keys = params.getOrDefault("key", List.of());
        List<String> prefixes = params.getOrDefault("prefix", List.of());
        if (keys.size() + prefixes.size() != 1) {
            json(req, 400, new JsonObject().put("error", "give exactly one key= or prefix= (got "
                    + keys.size() + " key, " + prefixes.size() + " prefix)"));
            return;
        }
        CacheFilter c = cache.get();
        if (!keys.isEmpty()) {
            String key = keys.get(0);
            int n = c.purge(key) ? 1 : 0;
            log.info("cache purge key={} removed={}", key, n);
            events.info("action", "cache purge key " + key + ": " + n + " removed");
            json(req, 200, new JsonObject().put("purged", n).put("key", key));
            return;
        }
        String prefix = prefixes.get(0);
        if (prefix.isEmpty()) {
            json(req, 400, new JsonObject().put("error", "prefix: empty (expected: a key prefix such as "
                    + "http://example.com/assets/; prefix=http purges every http key)"));
            return;
        }
        int n = c.purgePrefix(prefix);
        log.info("cache purge prefix={} removed={}", prefix, n);
        events.info("action", "cache purge prefix " + prefix + ": " + n + " removed");
        json(req, 200, new JsonObject().put("purged", n).put("prefix", prefix));
    }

    private static void json(HttpServerRequest req, int status, JsonObject body) {
        req.response().setStatusCode(status).putHeader("Content-Type", "application/json")
                .end(body.encode() + "\n");
    }
}
