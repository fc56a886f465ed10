package io.tiergate.proxy.cache;

import io.vertx.core.Future;
import io.vertx.core.MultiMap;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;

import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;

/** A cache with a hand-driven clock in front of a scripted origin that records what reached it. */
final class CacheFixture {
    static final long T0 = 1_800_000_000_000L; // a whole second, so Date headers carry no rounding

    long now = T0;
    final List<CacheRequest> received = new ArrayList<>();
    final Deque<Function<CacheRequest, Future<CacheResponse>>> script = new ArrayDeque<>();
    Function<CacheRequest, Future<CacheResponse>> fallback;
    final CacheFilter filter;
    CacheRule rule = CacheRule.ON;

    CacheFixture(Vertx vertx) {
        this(vertx, CacheConfig.defaults());
    }

    CacheFixture(Vertx vertx, CacheConfig config) {
        filter = new CacheFilter(vertx, config, () -> now);
    }

    void advance(Duration d) {
        now += d.toMillis();
    }

    /** The origin's next answer: status, body, then header name/value pairs; a Date of "now" is added if absent. */
    CacheFixture respond(int status, String body, String... headers) {
        script.add(req -> Future.succeededFuture(response(status, body, headers)));
        return this;
    }

    CacheFixture respondAlways(int status, String body, String... headers) {
        fallback = req -> Future.succeededFuture(response(status, body, headers));
        return this;
    }

    CacheFixture fail() {
        script.add(req -> Future.failedFuture(new java.net.ConnectException("origin down")));
        return this;
    }

    CacheResponse response(int status, String body, String... headers) {
        MultiMap h = MultiMap.caseInsensitiveMultiMap();
        for (int i = 0; i < headers.length; i += 2) {
            h.add(headers[i], headers[i + 1]);
        }
        if (!h.contains("Date")) {
            h.set("Date", HttpDates.format(now));
        }
        Buffer b = Buffer.buffer(body);
        h.set("Content-Length", Integer.toString(b.length()));
        return new CacheResponse(status, h, b);
    }

    final CacheFilter.Origin origin = req -> {
        received.add(req);
        Function<CacheRequest, Future<CacheResponse>> f = script.isEmpty() ? fallback : script.poll();
        if (f == null) {
            throw new AssertionError("origin called unexpectedly for " + req.method() + " " + req.uri());
        }
        return f.apply(req);
    };

    CacheResponse request(String method, String uri, String... headers) {
        MultiMap h = MultiMap.caseInsensitiveMultiMap();
        for (int i = 0; i < headers.length; i += 2) {
            h.add(headers[i], headers[i + 1]);
        }
        return await(filter.handle(new CacheRequest(method, "http", "example.com", uri, h), rule, origin));
    }

    CacheResponse get(String uri, String... headers) {
        return request("GET", uri, headers);
    }

    int fetches() {
        return received.size();
    }

    CacheRequest last() {
        return received.get(received.size() - 1);
    }

    static <T> T await(Future<T> f) {
        try {
            return f.toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
        } catch (Exception e) {
            throw new AssertionError("future did not complete: " + e, e);
        }
    }

    static <T> Promise<T> promise() {
        return Promise.promise();
    }
}
