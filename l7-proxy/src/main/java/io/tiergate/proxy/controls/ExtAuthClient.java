package io.tiergate.proxy.controls;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import io.tiergate.proxy.auth.ExtAuth;
import io.tiergate.proxy.request.ProxyRequest;
import io.tiergate.proxy.upstream.Peer;
import io.tiergate.proxy.upstream.UpstreamGroup;
import io.tiergate.shared.runtime.LoopClock;
import io.vertx.core.MultiMap;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpClientAgent;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.PoolOptions;
import io.vertx.core.http.RequestOptions;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.function.Function;

/**
 * Runs {@link ExtAuth} subrequests: one pooled HTTP/1.1 client for the node, servers picked from the auth service's
 * upstream group (its balancing and passive health apply), answers cached per {@link ExtAuth#cacheFor()}.
 */
final class ExtAuthClient {
    enum Verdict { ALLOW, DENY, FAILURE_ALLOWED }

    /** The outcome for the client; {@code copied} are the auth response's headers for the upstream request. */
    record Answer(Verdict verdict, int status, String wwwAuthenticate, List<Map.Entry<String, String>> copied,
                  String reason, long expiresNanos, boolean cacheable) {
    }

    private final HttpClientAgent client;
    private final Cache<String, Answer> cache = Caffeine.newBuilder().maximumSize(100_000).build();

    ExtAuthClient(Vertx vertx) {
        client = vertx.createHttpClient(new HttpClientOptions().setKeepAlive(true).setMaxInitialLineLength(8192),
                new PoolOptions().setHttp1MaxSize(64));
    }

    /** Checks {@code r}; {@code then} gets the answer on the request's event loop. Sets copied headers on allow. */
    void check(ProxyRequest r, ExtAuth auth, Function<String, UpstreamGroup> groups, Consumer<Answer> then) {
        MultiMap in = r.raw().headers();
        for (String name : auth.copyHeaders()) {
            in.remove(name); // only the auth service may set these
        }
        String key = null;
        if (!auth.cacheFor().isZero()) {
            StringBuilder k = new StringBuilder().append(System.identityHashCode(auth));
            for (String name : auth.passHeaders()) {
                k.append('\u0000').append(String.join("\u0001", in.getAll(name)));
            }
            key = k.toString();
            Answer cached = cache.getIfPresent(key);
            if (cached != null && cached.expiresNanos() - LoopClock.nanoTime() > 0) {
                apply(r, cached, then);
                return;
            }
        }
        UpstreamGroup group = groups.apply(auth.upstream());
        Peer peer = group == null ? null : group.pick(Set.of(), null);
        if (peer == null) {
            then.accept(failure(auth, "no live server in auth upstream '" + auth.upstream() + "'"));
            return;
        }
        RequestOptions o = new RequestOptions().setMethod(HttpMethod.valueOf(auth.method()))
                .setHost(peer.config().address().host()).setPort(peer.config().address().port()).setURI(auth.path())
                .setConnectTimeout(auth.timeout().toMillis()).setIdleTimeout(auth.timeout().toMillis());
        for (String name : auth.passHeaders()) {
            for (String v : in.getAll(name)) {
                o.addHeader(name, v);
            }
        }
        o.putHeader("X-Original-Method", r.method()).putHeader("X-Original-URI", r.uri())
                .putHeader("X-Real-IP", r.clientIp());
        if (r.authority() != null) {
            o.putHeader("X-Forwarded-Host", r.authority().toString());
        }
        long t0 = LoopClock.nanoTime();
        String cacheKey = key;
        client.request(o).compose(req -> req.send().compose(resp -> resp.body().map(b -> {
            int s = resp.statusCode();
            List<Map.Entry<String, String>> copied = new ArrayList<>();
            if (s / 100 == 2) {
                for (String name : auth.copyHeaders()) {
                    for (String v : resp.headers().getAll(name)) {
                        copied.add(Map.entry(name, v));
                    }
                }
            }
            long expires = LoopClock.nanoTime() + auth.cacheFor().toNanos();
            return s / 100 == 2 ? new Answer(Verdict.ALLOW, s, null, copied, null, expires, true)
                    : s == 401 || s == 403 ? new Answer(Verdict.DENY, s, s == 401 ? resp.getHeader("WWW-Authenticate")
                    : null, List.of(), "denied by the auth service", expires, true)
                    : failure(auth, "the auth service answered " + s);
        }))).timeout(auth.timeout().toMillis(), TimeUnit.MILLISECONDS).onComplete(ar -> {
            group.release(peer, ar.failed(), LoopClock.nanoTime() - t0);
            Answer a = ar.succeeded() ? ar.result() : failure(auth, "auth subrequest to " + peer.key() + " failed: "
                    + ar.cause().getMessage());
            if (cacheKey != null && a.cacheable()) {
                cache.put(cacheKey, a);
            }
            apply(r, a, then);
        });
    }

    private static void apply(ProxyRequest r, Answer a, Consumer<Answer> then) {
        if (a.verdict() == Verdict.ALLOW) {
            for (Map.Entry<String, String> e : a.copied()) {
                r.raw().headers().add(e.getKey(), e.getValue());
            }
        }
        then.accept(a);
    }

    private static Answer failure(ExtAuth auth, String why) {
        return auth.failureAllow() ? new Answer(Verdict.FAILURE_ALLOWED, 0, null, List.of(), why, 0, false)
                : new Answer(Verdict.DENY, auth.failureStatus(), null, List.of(), why, 0, false);
    }
}
