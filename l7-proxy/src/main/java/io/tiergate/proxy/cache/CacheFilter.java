package io.tiergate.proxy.cache;

import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.util.AsciiString;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.MultiMap;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.net.URI;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.OptionalLong;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.LongSupplier;

/**
 * The cache as one stage of the proxy pipeline: a decorator around "forward to the origin". Given a request and the
 * location's {@link CacheRule}, it answers from the store, revalidates, or forwards and stores — and always says
 * which in a {@code Cache-Status} header (RFC 9211).
 *
 * <p>Concurrent misses for one key are collapsed: the first becomes the leader and goes upstream, the others wait
 * (at most {@code collapse-timeout}) and then look again, so a popular object that expires costs one origin fetch.
 * Waiters resume on their own Vert.x context. stale-while-revalidate refreshes in the background under the same
 * lease, so at most one refresh per key runs at a time.
 *
 * <p>Client conditionals and Range are answered here from the full response: they are stripped from the upstream
 * request of a cacheable GET so that the origin's full 200 can fill the store.
 */
public final class CacheFilter {
    /** The rest of the pipeline: forwards a request and yields the complete response. */
    @FunctionalInterface
    public interface Origin {
        Future<CacheResponse> fetch(CacheRequest request);
    }

    private static final Logger log = LoggerFactory.getLogger(CacheFilter.class);
    private static final Set<String> SAFE = Set.of("GET", "HEAD", "OPTIONS", "TRACE");
    private static final AsciiString AGE = AsciiString.cached("Age");
    private static final AsciiString CACHE_STATUS = AsciiString.cached("Cache-Status");

    private final Vertx vertx;
    private final HttpCache store;
    private final CachePolicy policy;
    private final LongSupplier clock;
    private final Map<String, Promise<Void>> inflight = new ConcurrentHashMap<>();
    private final CacheStats stats = new CacheStats();

    public CacheFilter(Vertx vertx, CacheConfig config) {
        this(vertx, config, io.tiergate.shared.runtime.LoopClock::currentTimeMillis);
    }

    public CacheFilter(Vertx vertx, CacheConfig config, LongSupplier clock) {
        this.vertx = vertx;
        this.store = new HttpCache(config);
        this.policy = new CachePolicy(config);
        this.clock = clock;
    }

    public HttpCache store() {
        return store;
    }

    public CachePolicy policy() {
        return policy;
    }

    /** Purges one key (as produced by the rule's key template, e.g. {@code http://example.com/a?b=1}). */
    public CacheStats stats() {
        return stats;
    }

    public boolean purge(String key) {
        stats.forget(key);
        return store.purge(key);
    }

    public int purgePrefix(String prefix) {
        stats.forgetIf(k -> k.startsWith(prefix));
        return store.purgePrefix(prefix);
    }

    public Future<CacheResponse> handle(CacheRequest req, CacheRule rule, Origin origin) {
        if (!rule.enabled()) {
            return origin.fetch(req);
        }
        String method = req.method().toUpperCase(Locale.ROOT);
        if (!method.equals("GET") && !method.equals("HEAD")) {
            return origin.fetch(req).map(resp -> {
                if (!SAFE.contains(method) && resp.status() >= 200 && resp.status() < 400) {
                    invalidate(req, rule, resp.headers());
                }
                resp.headers().add("Cache-Status", name() + "; fwd=method; fwd-status=" + resp.status());
                return resp;
            });
        }
        String key = rule.keyFor(req);
        return lookup(req, rule, key, origin, true, false).onSuccess(resp -> count(key, resp));
    }

    /** One hit or miss per client request, decided by what was served (a collapsed wait looks up twice). */
    private void count(String key, CacheResponse resp) {
        String status = resp.headers().get(CACHE_STATUS);
        String name = name();
        boolean hit = status != null && status.startsWith(name) && status.startsWith("; hit", name.length());
        store.countLookup(hit);
        if (hit) {
            stats.hit(key);
        } else {
            stats.miss();
        }
    }

    private String name() {
        return policy.config().name();
    }

    private Future<CacheResponse> lookup(CacheRequest req, CacheRule rule, String key, Origin origin,
                                         boolean mayWait, boolean collapsed) {
        long now = clock.getAsLong();
        Directives reqCc = CachePolicy.requestDirectives(req.headers());
        List<StoredResponse> variants = store.variants(key);
        StoredResponse sel = select(variants, req);
        if (sel == null) {
            String fwd = variants.isEmpty() ? "uri-miss" : "vary-miss";
            if (reqCc.has("only-if-cached")) {
                return Future.succeededFuture(onlyIfCachedMiss(fwd));
            }
            return coalesced(req, rule, origin, key, null, fwd, mayWait);
        }
        long age = CachePolicy.currentAge(sel, now);
        long life = policy.freshnessLifetime(sel, rule);
        boolean fresh = life > age;
        boolean mustRevalidate = policy.mustRevalidate(sel);
        boolean revalidate = policy.noCache(sel) || reqCc.has("no-cache");
        OptionalLong maxAge = reqCc.seconds("max-age");
        OptionalLong minFresh = reqCc.seconds("min-fresh");
        boolean ageOk = maxAge.isEmpty() || age <= maxAge.getAsLong() * 1000;
        String extra = collapsed ? "; collapsed" : "";
        if (!revalidate && ageOk) {
            if (fresh && (minFresh.isEmpty() || life - age >= minFresh.getAsLong() * 1000)) {
                return Future.succeededFuture(serve(sel, req, now, "hit" + ttl(life, age) + extra, true));
            }
            OptionalLong maxStale = reqCc.secondsOrUnbounded("max-stale");
            if (!fresh && !mustRevalidate && maxStale.isPresent() && age - life <= maxStale.getAsLong() * 1000) {
                return Future.succeededFuture(serve(sel, req, now, "hit" + ttl(life, age) + "; detail=max-stale",
                        true));
            }
            long swr = policy.effective(sel).seconds("stale-while-revalidate").orElse(0);
            if (!fresh && !mustRevalidate && swr > 0 && minFresh.isEmpty() && age - life <= swr * 1000) {
                backgroundRevalidate(req, rule, origin, key, sel);
                return Future.succeededFuture(serve(sel, req, now,
                        "hit" + ttl(life, age) + "; detail=stale-while-revalidate", true));
            }
        }
        if (reqCc.has("only-if-cached")) {
            return Future.succeededFuture(onlyIfCachedMiss("stale"));
        }
        String fwd = fresh && (reqCc.has("no-cache") || !ageOk || minFresh.isPresent()) ? "request" : "stale";
        return coalesced(req, rule, origin, key, sel, fwd, mayWait);
    }

    private static String ttl(long life, long age) {
        return "; ttl=" + Math.floorDiv(life - age, 1000);
    }

    private CacheResponse onlyIfCachedMiss(String fwd) {
        CacheResponse r = CacheResponse.of(504, "not in cache (only-if-cached)\n");
        r.headers().set("Cache-Status", name() + "; fwd=" + fwd + "; detail=only-if-cached");
        return r;
    }

    /**
     * The most recent stored variant whose selecting header fields match the request (RFC 9111 §4.1). Failing that,
     * a content-coded variant whose only difference is Accept-Encoding is chosen when the request accepts its coding
     * (so "gzip, deflate" is served the variant stored for "gzip"): the response is acceptable to that client.
     */
    StoredResponse select(List<StoredResponse> variants, CacheRequest req) {
        for (StoredResponse s : variants) {
            if (CachePolicy.varyValues(s.varyNames(), req.headers()).equals(s.varyValues())) {
                return s;
            }
        }
        for (StoredResponse s : variants) {
            String coding = s.headers().get("Content-Encoding");
            if (coding == null || coding.equalsIgnoreCase("identity") || !s.varyNames().contains("accept-encoding")) {
                continue;
            }
            Map<String, String> mine = CachePolicy.varyValues(s.varyNames(), req.headers());
            boolean othersMatch = s.varyNames().stream().filter(n -> !n.equals("accept-encoding"))
                    .allMatch(n -> mine.get(n).equals(s.varyValues().get(n)));
            if (othersMatch && List.of(mine.get("accept-encoding").split(",")).contains(coding.trim().toLowerCase(Locale.ROOT))) {
                return s;
            }
        }
        return null;
    }

    private Future<CacheResponse> coalesced(CacheRequest req, CacheRule rule, Origin origin, String key,
                                            StoredResponse stale, String fwd, boolean mayWait) {
        if (!mayWait || CachePolicy.requestDirectives(req.headers()).has("no-store")) {
            return forward(req, rule, origin, key, stale, fwd, null);
        }
        Promise<Void> lease = Promise.promise();
        Promise<Void> leader = inflight.putIfAbsent(key, lease);
        if (leader == null) {
            return forward(req, rule, origin, key, stale, fwd, lease);
        }
        Context ctx = Vertx.currentContext();
        Promise<CacheResponse> out = Promise.promise();
        AtomicBoolean resumed = new AtomicBoolean();
        long timer = vertx.setTimer(Math.max(1, policy.config().collapseTimeout().toMillis()), t -> {
            if (resumed.compareAndSet(false, true)) {
                log.debug("collapse wait for {} timed out; going upstream", key);
                onContext(ctx, () -> forward(req, rule, origin, key, stale, fwd, null).onComplete(out));
            }
        });
        leader.future().onComplete(x -> {
            if (resumed.compareAndSet(false, true)) {
                vertx.cancelTimer(timer);
                onContext(ctx, () -> lookup(req, rule, key, origin, false, true).onComplete(out));
            }
        });
        return out.future();
    }

    private static void onContext(Context ctx, Runnable r) {
        if (ctx == null || ctx == Vertx.currentContext()) {
            r.run();
        } else {
            ctx.runOnContext(v -> r.run());
        }
    }

    private void backgroundRevalidate(CacheRequest req, CacheRule rule, Origin origin, String key,
                                      StoredResponse stale) {
        Promise<Void> lease = Promise.promise();
        if (inflight.putIfAbsent(key, lease) != null) {
            return;
        }
        // Its response goes to the store only: never into the head of the client's (already served) response.
        CacheRequest own = new CacheRequest(req.method(), req.scheme(), req.host(), req.uri(), req.headers());
        forward(own, rule, origin, key, stale, "stale", lease)
                .onFailure(e -> log.debug("background revalidation of {} failed: {}", key, e.toString()));
    }

    /**
     * Goes upstream (conditionally when {@code stale} has validators), stores what may be stored, answers the client.
     * Releases {@code lease} (when held) once the store has been updated.
     */
    private Future<CacheResponse> forward(CacheRequest req, CacheRule rule, Origin origin, String key,
                                          StoredResponse stale, String fwd, Promise<Void> lease) {
        MultiMap h = req.copyHeaders();
        for (String n : List.of("If-None-Match", "If-Modified-Since", "Range", "If-Range")) {
            h.remove(n);
        }
        if (stale != null) {
            if (stale.etag() != null) {
                h.set("If-None-Match", stale.etag());
            }
            if (stale.lastModified() != null) {
                h.set("If-Modified-Since", stale.lastModified());
            }
        }
        // HEAD is forwarded as GET so that the answer can fill the store (like nginx's proxy_cache_convert_head).
        CacheRequest up = new CacheRequest("GET", req.scheme(), req.host(), req.uri(), h);
        long requestTime = clock.getAsLong();
        Future<CacheResponse> f;
        try {
            f = origin.fetch(up);
        } catch (RuntimeException e) {
            f = Future.failedFuture(e);
        }
        Future<CacheResponse> result = f.transform(ar -> {
            long responseTime = clock.getAsLong();
            if (stale != null && (ar.failed() || ar.result().status() >= 500)) {
                int status = ar.failed() ? 504 : ar.result().status();
                if (staleIfErrorAllowed(stale, rule, req, responseTime)) {
                    long age = CachePolicy.currentAge(stale, responseTime);
                    long life = policy.freshnessLifetime(stale, rule);
                    return Future.succeededFuture(serve(stale, req, responseTime, "fwd=" + fwd + "; fwd-status="
                            + status + ttl(life, age) + "; detail=stale-if-error", true));
                }
                if (ar.failed() && policy.mustRevalidate(stale)) {
                    CacheResponse r = CacheResponse.of(504, "origin unreachable and the stored response must be revalidated\n");
                    r.headers().set("Cache-Status", name() + "; fwd=" + fwd + "; detail=must-revalidate");
                    return Future.succeededFuture(r);
                }
            }
            if (ar.failed()) {
                return Future.failedFuture(ar.cause());
            }
            CacheResponse r = ar.result();
            if (r.status() == 304 && stale != null) {
                String etag = r.headers().get("ETag");
                if (etag == null || stale.etag() == null || strongEquals(etag, stale.etag()) || weakEquals(etag, stale.etag())) {
                    StoredResponse updated = merge304(stale, r.headers(), requestTime, responseTime);
                    store.replace(key, stale, updated);
                    long age = CachePolicy.currentAge(updated, responseTime);
                    long life = policy.freshnessLifetime(updated, rule);
                    return Future.succeededFuture(serve(updated, req, responseTime,
                            "fwd=" + fwd + "; fwd-status=304; stored" + ttl(life, age), true));
                }
                // The 304 names another representation than ours: fetch it in full.
                return forward(req, rule, origin, key, null, fwd, null);
            }
            MultiMap headers = CachePolicy.storableHeaders(r.headers());
            if (!headers.contains("Date")) {
                headers.set("Date", HttpDates.format(responseTime));
            }
            List<String> varyNames = CachePolicy.varyNames(headers);
            StoredResponse s = new StoredResponse(r.status(), headers, r.body() == null ? Buffer.buffer() : r.body(),
                    requestTime, responseTime, varyNames, CachePolicy.varyValues(varyNames, req.headers()));
            String why = policy.notStorable(up, r.status(), headers, s.body().length(), rule);
            StringBuilder status = new StringBuilder("fwd=").append(fwd).append("; fwd-status=").append(r.status());
            if (why == null) {
                store.put(key, s);
                status.append("; stored").append(ttl(policy.freshnessLifetime(s, rule),
                        CachePolicy.currentAge(s, responseTime)));
            } else {
                status.append("; detail=").append(why);
            }
            return Future.succeededFuture(serve(s, req, responseTime, status.toString(), false));
        });
        if (lease != null) {
            result.onComplete(x -> {
                inflight.remove(key, lease);
                lease.complete();
            });
        }
        return result;
    }

    private boolean staleIfErrorAllowed(StoredResponse stale, CacheRule rule, CacheRequest req, long now) {
        if (policy.mustRevalidate(stale) || policy.noCache(stale)) {
            return false;
        }
        long allowed = Math.max(policy.effective(stale).seconds("stale-if-error").orElse(0),
                CachePolicy.requestDirectives(req.headers()).seconds("stale-if-error").orElse(0)) * 1000;
        allowed = Math.max(allowed, rule.staleIfError().toMillis());
        long staleness = CachePolicy.currentAge(stale, now) - policy.freshnessLifetime(stale, rule);
        return staleness <= allowed;
    }

    /** RFC 9111 §4.3.4: the 304's header fields replace the stored ones (except framing and hop-by-hop fields). */
    static StoredResponse merge304(StoredResponse stale, MultiMap notModified, long requestTime, long responseTime) {
        MultiMap update = CachePolicy.storableHeaders(notModified);
        update.remove("Content-Length");
        MultiMap merged = MultiMap.caseInsensitiveMultiMap().addAll(stale.headers());
        for (String name : update.names()) {
            merged.remove(name);
            merged.add(name, update.getAll(name));
        }
        if (!update.contains("Date")) {
            merged.set("Date", HttpDates.format(responseTime));
        }
        if (!update.contains("Age")) {
            merged.remove("Age");
        }
        List<String> vary = CachePolicy.varyNames(merged);
        Map<String, String> values = vary.equals(stale.varyNames()) ? stale.varyValues() : stale.varyValues();
        return new StoredResponse(stale.status(), merged, stale.body(), requestTime, responseTime, stale.varyNames(),
                values);
    }

    /**
     * Builds the client's response from a stored (or just received) response: Age when served from the store,
     * Cache-Status, the client's conditionals (304), a single Range (206/416), and no body for HEAD.
     */
    CacheResponse serve(StoredResponse s, CacheRequest req, long now, String cacheStatus, boolean fromStore) {
        MultiMap h = req.servedHeaders() == null ? MultiMap.caseInsensitiveMultiMap() : req.servedHeaders().clear();
        AsciiString[] wire = s.wireHeaders();
        for (int i = 0; i < wire.length; i += 2) {
            h.add(wire[i], wire[i + 1]);
        }
        if (fromStore) {
            h.set(AGE, Long.toString(Math.min(CachePolicy.currentAge(s, now) / 1000, Directives.MAX_DELTA)));
        }
        h.add(CACHE_STATUS, name() + "; " + cacheStatus);
        boolean head = req.method().equalsIgnoreCase("HEAD");
        if (s.status() >= 200 && s.status() < 300 && notModified(s, req.headers())) {
            h.remove("Content-Length");
            h.remove("Content-Range");
            return new CacheResponse(304, h, Buffer.buffer());
        }
        Buffer body = s.body();
        String range = req.headers().get(HttpHeaderNames.RANGE);
        if (s.status() == 200 && range != null && ifRangeHolds(s, req.headers().get(HttpHeaderNames.IF_RANGE))) {
            long[] r = ByteRange.parse(range, body.length());
            if (r == ByteRange.UNSATISFIABLE) {
                h.set("Content-Range", "bytes */" + body.length());
                h.set("Content-Length", "0");
                return new CacheResponse(416, h, Buffer.buffer());
            }
            if (r != null) {
                h.set("Content-Range", "bytes " + r[0] + "-" + r[1] + "/" + body.length());
                Buffer part = body.getBuffer((int) r[0], (int) r[1] + 1);
                h.set("Content-Length", Integer.toString(part.length()));
                return new CacheResponse(206, h, head ? Buffer.buffer() : part);
            }
        }
        if (!h.contains(HttpHeaderNames.CONTENT_LENGTH)) {
            h.set(HttpHeaderNames.CONTENT_LENGTH, Integer.toString(body.length()));
        }
        return new CacheResponse(s.status(), h, head ? Buffer.buffer() : body);
    }

    private static boolean notModified(StoredResponse s, MultiMap req) {
        String inm = req.get(HttpHeaderNames.IF_NONE_MATCH);
        if (inm != null) {
            String etag = s.etag();
            for (String tag : inm.split(",")) {
                String t = tag.trim();
                if (t.equals("*") || (etag != null && weakEquals(t, etag))) {
                    return true;
                }
            }
            return false;
        }
        long ims = HttpDates.parse(req.get(HttpHeaderNames.IF_MODIFIED_SINCE));
        long lm = HttpDates.parse(s.lastModified());
        return ims >= 0 && lm >= 0 && lm <= ims;
    }

    private static boolean ifRangeHolds(StoredResponse s, String ifRange) {
        if (ifRange == null) {
            return true;
        }
        String v = ifRange.trim();
        if (v.startsWith("\"") || v.startsWith("W/")) {
            return s.etag() != null && strongEquals(v, s.etag());
        }
        long d = HttpDates.parse(v);
        return d >= 0 && d == HttpDates.parse(s.lastModified());
    }

    static boolean weakEquals(String a, String b) {
        return opaque(a).equals(opaque(b));
    }

    static boolean strongEquals(String a, String b) {
        return !a.startsWith("W/") && !b.startsWith("W/") && a.equals(b);
    }

    private static String opaque(String tag) {
        String t = tag.trim();
        return t.startsWith("W/") ? t.substring(2) : t;
    }

    /** RFC 9111 §4.4: a successful unsafe request invalidates its target and same-origin Location/Content-Location. */
    void invalidate(CacheRequest req, CacheRule rule, MultiMap responseHeaders) {
        store.purge(rule.keyFor(req.withMethodAndUri("GET", req.uri())));
        for (String field : List.of("Location", "Content-Location")) {
            String v = responseHeaders.get(field);
            if (v == null) {
                continue;
            }
            try {
                URI base = new URI(req.scheme(), req.host(), "/", null);
                URI target = base.resolve(new URI(req.uri())).resolve(new URI(v.trim()));
                boolean sameOrigin = req.scheme().equalsIgnoreCase(target.getScheme())
                        && req.host().equalsIgnoreCase(target.getRawAuthority());
                if (sameOrigin) {
                    String uri = target.getRawPath() + (target.getRawQuery() == null ? "" : "?" + target.getRawQuery());
                    store.purge(rule.keyFor(req.withMethodAndUri("GET", uri)));
                }
            } catch (Exception e) {
                log.debug("not invalidating {} '{}': {}", field, v, e.toString());
            }
        }
    }
}
