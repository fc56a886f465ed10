package io.tiergate.proxy.forward;

import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.tiergate.proxy.cache.CacheFilter;
import io.tiergate.proxy.cache.CacheRequest;
import io.tiergate.proxy.cache.CacheResponse;
import io.tiergate.proxy.compress.Compression;
import io.tiergate.proxy.features.LocationFeatures;
import io.tiergate.proxy.log.AccessLog;
import io.tiergate.proxy.log.ProxyMetrics;
import io.tiergate.proxy.request.ProxyRequest;
import io.tiergate.proxy.rewrite.RequestContext;
import io.tiergate.proxy.rewrite.RewriteProgram;
import io.tiergate.proxy.rewrite.RewriteResult;
import io.tiergate.proxy.route.Route;
import io.tiergate.proxy.staticfiles.StaticFiles;
import io.tiergate.proxy.staticfiles.StaticReply;
import io.tiergate.shared.runtime.LoopClock;
import io.vertx.core.Future;
import io.vertx.core.MultiMap;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpServerResponse;

import java.util.concurrent.atomic.AtomicBoolean;

/**
 * The pipeline stages between routing and forwarding that a location can turn on: rewrite/return (with re-routing
 * for {@code last}), header rules, and the cache (with gzip applied before storing, so gzip and identity variants
 * are stored apart under {@code Vary: Accept-Encoding}). Locations without features go straight to an
 * {@link Exchange}, unchanged.
 */
final class FeatureStage {
    private FeatureStage() {
    }

    static void run(Forwarding fw, ProxyRequest preq, Route route, UpstreamClient upstream, Body body,
                    CacheFilter cache) {
        LocationFeatures f = route.location().features();
        if (f == LocationFeatures.NONE) {
            new Exchange(fw, preq, route, upstream, body, Hooks.NONE).start();
            return;
        }
        Vertx vertx = fw.vertx();
        Snapshot snap = fw.snapshot();
        HttpServerRequest req = preq.raw();
        String listener = preq.listener();
        String clientIp = preq.clientIp();
        String requestId = preq.requestId();
        // Rewrite, cache keys and static files all start from the normalized target, never from req.uri().
        String host = preq.target().routingHost();
        String scheme = preq.scheme();
        RequestContext ctx = new RequestContext(preq.method(), scheme, host, preq.uri(), clientIp, req.headers(),
                requestId);
        Route[] current = {route};
        boolean[] first = {true};
        RewriteResult rr = RewriteProgram.resolve(ctx, path -> {
            if (!first[0]) {
                current[0] = snap.routes().route(listener, host, path);
            }
            first[0] = false;
            return current[0] == null ? RewriteProgram.EMPTY : current[0].location().features().rewrite();
        });
        long start = LoopClock.nanoTime();
        if (rr instanceof RewriteResult.Redirect r) {
            answer(fw, route, body, preq, start,
                    new CacheResponse(r.status(), MultiMap.caseInsensitiveMultiMap().set("Location", r.location())
                            .set("Content-Length", "0"), Buffer.buffer()), ctx);
            return;
        }
        if (rr instanceof RewriteResult.Return r) {
            CacheResponse resp = CacheResponse.of(r.status(), r.body());
            resp.headers().set("Content-Type", "text/plain; charset=utf-8");
            answer(fw, route, body, preq, start, resp, ctx);
            return;
        }
        String uri = ((RewriteResult.Continue) rr).uri();
        Route target = current[0];
        if (target == null) {
            answer(fw, route, body, preq, start,
                    CacheResponse.of(404, "404 Not Found: no location matches " + uri + "\n"), ctx);
            return;
        }
        LocationFeatures tf = target.location().features();
        RequestContext rewritten = ctx.withUri(uri);
        if (tf.staticFiles() != null) {
            StaticFiles.serve(vertx, tf.staticFiles(), target.location().path(), req.method().name(), uri,
                    req.headers()).onComplete(ar -> {
                        StaticReply r = ar.succeeded() ? ar.result()
                                : new StaticReply(500, MultiMap.caseInsensitiveMultiMap(),
                                        Buffer.buffer("500 Internal Server Error\n"), null, 0, 0);
                        answer(fw, target, body, preq, start,
                                new CacheResponse(r.status(), r.headers(), r.body()), rewritten, r);
                    });
            return;
        }
        UpstreamClient up = target == route ? upstream : snap.upstreams().get(target.location().upstream());
        if (up == null) {
            answer(fw, route, body, preq, start,
                    CacheResponse.of(404, "404 Not Found: location " + target.location().label()
                            + " has no upstream for " + uri + "\n"), ctx);
            return;
        }
        if (!tf.cache().enabled()) {
            new Exchange(fw, preq, target, up, body, Hooks.rewritten(uri, rewritten)).start();
            return;
        }
        CacheFilter.Origin origin = creq -> {
            Promise<CacheResponse> p = Promise.promise();
            new Exchange(fw, preq, target, up, body, new Hooks(HttpMethod.valueOf(creq.method()), creq.uri(),
                    creq.headers(), rewritten, p)).start();
            return p.future().map(r -> new CacheResponse(r.status(), r.headers(), Compression.apply(tf.gzip(),
                    creq.method(), creq.headers(), r.status(), r.headers(), r.body())));
        };
        // The client's headers are only read; a response from the store is built in the client response's map.
        CacheRequest creq = new CacheRequest(req.method().name(), scheme, host, uri, req.headers(),
                req.response().headers());
        Future<CacheResponse> out = cache.handle(creq, tf.cache(), origin);
        out.onComplete(ar -> {
            CacheResponse resp;
            if (ar.succeeded()) {
                resp = ar.result();
            } else {
                int status = ar.cause() instanceof Exchange.UpstreamError ue ? ue.status : 502;
                resp = CacheResponse.of(status, status + " " + HttpResponseStatus.valueOf(status).reasonPhrase()
                        + ": " + ar.cause().getMessage() + "\n");
                resp.headers().set("Content-Type", "text/plain; charset=utf-8");
            }
            answer(fw, target, body, preq, start, resp, rewritten);
        });
    }

    /** Writes a response produced here (not relayed by an Exchange) and accounts for the request once. */
    private static void answer(Forwarding fw, Route route, Body body, ProxyRequest preq, long startNanos,
                               CacheResponse r, RequestContext ctx) {
        answer(fw, route, body, preq, startNanos, r, ctx, null);
    }

    /** As above; a non-null {@code file} sends that file slice (zero-copy) instead of {@code r}'s body. */
    private static void answer(Forwarding fw, Route route, Body body, ProxyRequest preq, long startNanos,
                               CacheResponse r, RequestContext ctx, StaticReply file) {
        HttpServerRequest req = preq.raw();
        Snapshot snap = fw.snapshot();
        ProxyMetrics metrics = fw.metrics();
        AccessLog accessLog = fw.accessLog();
        String requestId = preq.requestId();
        HttpServerResponse resp = req.response();
        AtomicBoolean done = new AtomicBoolean();
        Runnable finish = () -> {
            if (!done.compareAndSet(false, true)) {
                return;
            }
            body.dispose();
            preq.notes().ended();
            long nanos = LoopClock.nanoTime() - startNanos;
            int status = resp.ended() ? resp.getStatusCode() : 499;
            String group = route.location().upstream() == null ? "-" : route.location().upstream();
            metrics.request(route.location().label(), group, status, nanos);
            if (accessLog.enabled()) { // with format: off, no entry is built (this is every cache hit's path)
                long startMillis = LoopClock.currentTimeMillis() - nanos / 1_000_000;
                String cacheStatus = r.headers().get("Cache-Status");
                accessLog.log(new AccessLog.Entry(startMillis, preq.clientIp(), req.method().name(), req.uri(),
                        AccessLog.protocol(req.version()), status,
                        resp.bytesWritten(), req.getHeader(HttpHeaderNames.REFERER),
                        req.getHeader(HttpHeaderNames.USER_AGENT), nanos / 1000,
                        route.location().label(), group, "-", cacheStatus == null ? "-" : cacheStatus, 0,
                        body.mode(), null, requestId, preq.notes().limit()));
            }
            snap.release();
        };
        boolean sendsFile = file != null && file.file() != null;
        if (sendsFile) { // a file goes out after this returns: account for the request when it ends or the client left
            resp.endHandler(v -> finish.run());
            resp.closeHandler(v -> finish.run());
        }
        if (resp.ended() || resp.closed()) {
            finish.run();
            return;
        }
        MultiMap h = r.headers();
        h.remove(HttpHeaderNames.TRANSFER_ENCODING);
        ProxyConfigView.decorate(snap, h, requestId);
        route.location().features().responseHeaders().apply(h, ctx);
        if (resp.getStatusCode() != r.status()) { // each setter takes the connection's lock: not for the default 200
            resp.setStatusCode(r.status());
        }
        if (h != resp.headers()) { // a cache hit's head is already there (CacheRequest.servedHeaders)
            resp.headers().setAll(h);
        }
        boolean noBody = req.method() == HttpMethod.HEAD || r.status() == 204 || r.status() == 304 || r.status() < 200;
        if (sendsFile) {
            if (noBody) {
                resp.end();
            } else {
                resp.sendFile(file.file(), file.offset(), file.length()).onFailure(t -> {
                    // The file vanished between stat and open, or the client left mid-file.
                    if (!resp.headWritten()) {
                        resp.setStatusCode(404).headers().clear();
                        resp.end("404 Not Found\n");
                    } else {
                        req.connection().close();
                    }
                });
            }
            return;
        }
        // Answered here and now (a cache hit, a return, an error): the response has ended when end() returns, or the
        // connection is gone, so the request is accounted right after it, without an end and a close handler (each
        // takes the connection's lock).
        if (noBody) {
            resp.end();
        } else {
            resp.headers().set(HttpHeaderNames.CONTENT_LENGTH, Integer.toString(r.body().length()));
            resp.end(r.body());
        }
        finish.run();
    }

    /** The same response decoration an Exchange applies (Via, node header, request id). */
    private static final class ProxyConfigView {
        static void decorate(Snapshot snap, MultiMap h, String requestId) {
            var config = snap.config();
            if (config.forwarding().via()) {
                Headers.appendVia(h, "1.1", config.nodeName());
            }
            if (!config.nodeHeader().isEmpty()) {
                h.set(config.nodeHeader(), config.nodeName());
            }
            if (!config.forwarding().requestIdHeader().isEmpty()) {
                h.set(config.forwarding().requestIdHeader(), requestId);
            }
        }
    }
}
