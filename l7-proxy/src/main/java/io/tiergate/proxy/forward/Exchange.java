package io.tiergate.proxy.forward;

import io.tiergate.proxy.compress.Compression;
import io.tiergate.proxy.compress.GzipConfig;
import io.tiergate.proxy.compress.Coding;
import io.tiergate.proxy.compress.ContentEncoder;
import io.tiergate.proxy.config.ProxyConfig;
import io.tiergate.proxy.config.RetryCondition;
import io.tiergate.proxy.config.RetryPolicy;
import io.tiergate.proxy.config.UpstreamConfig;
import io.tiergate.proxy.log.AccessLog;
import io.tiergate.proxy.log.ProxyMetrics;
import io.tiergate.proxy.request.ProxyRequest;
import io.tiergate.proxy.retry.Failure;
import io.tiergate.proxy.retry.RetryDecision;
import io.tiergate.proxy.route.Route;
import io.tiergate.proxy.upstream.Peer;
import io.tiergate.proxy.upstream.UpstreamGroup;
import io.vertx.core.MultiMap;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.Cookie;
import io.vertx.core.http.HttpClientAgent;
import io.vertx.core.http.HttpClientRequest;
import io.vertx.core.http.HttpClientResponse;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.core.http.RequestOptions;
import io.vertx.core.net.HostAndPort;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * One client request on its way through the upstream group: pick a server, send, and on failure decide — with
 * {@link RetryDecision} and the group's budget — whether to send it again to another server. Once the response
 * head has been passed to the client the exchange is committed and nothing is retried any more.
 * All callbacks run on the client connection's event loop.
 */
final class Exchange {
    private final Vertx vertx;
    private final Snapshot snapshot;
    private final ProxyConfig config;
    private final HttpServerRequest req;
    private final ProxyRequest request;
    private final HttpServerResponse resp;
    private final Route route;
    private final UpstreamClient upstream;
    private final UpstreamGroup group;
    private final RetryPolicy policy;
    private final Body body;
    private final MultiMap outHeaders;
    private final String requestId;
    private final String clientIp;
    private final ProxyMetrics metrics;
    private final AccessLog accessLog;
    private final long startNanos = System.nanoTime();
    private final long startMillis = System.currentTimeMillis();
    private final long deadline;
    private final Set<Peer> tried = new HashSet<>();
    private final List<String> addrs = new ArrayList<>();
    private final List<String> statuses = new ArrayList<>();
    private final String hashKey;
    private boolean holdsRetrySlot;
    private boolean freshResendUsed;
    private boolean committed;
    private boolean finished;
    private boolean clientGone;
    private String noRetry;
    private HttpClientRequest current;
    private HttpClientResponse relaying;
    private ContentEncoder encoder; // non-null while a compressed relay runs
    // Feature hooks (cache, rewrite, header rules): what to send instead of the client's request line, and, for the
    // cache, a sink that receives the whole response instead of relaying it to the client.
    private final HttpMethod method;
    private final String uri;
    private final io.vertx.core.Promise<io.tiergate.proxy.cache.CacheResponse> sink;
    private final io.tiergate.proxy.rewrite.HeaderRules responseRules;
    private final io.tiergate.proxy.rewrite.RequestContext rewriteContext;

    Exchange(Vertx vertx, Snapshot snapshot, ProxyRequest request, Route route, UpstreamClient upstream, Body body,
             ProxyMetrics metrics, AccessLog accessLog) {
        this(vertx, snapshot, request, route, upstream, body, metrics, accessLog, null, null, null, null, null);
    }

    /**
     * With feature hooks: {@code method}/{@code uri} replace the client's; {@code headerOverrides} (the cache's
     * view of the request) decides the conditional and Range fields; {@code ctx} feeds the location's header rules;
     * a non-null {@code sink} receives the buffered response (or fails with {@link UpstreamError}).
     */
    Exchange(Vertx vertx, Snapshot snapshot, ProxyRequest request, Route route, UpstreamClient upstream, Body body,
             ProxyMetrics metrics, AccessLog accessLog, HttpMethod method,
             String uri, MultiMap headerOverrides, io.tiergate.proxy.rewrite.RequestContext ctx,
             io.vertx.core.Promise<io.tiergate.proxy.cache.CacheResponse> sink) {
        HttpServerRequest req = request.raw();
        this.request = request;
        this.method = method == null ? req.method() : method;
        this.uri = uri == null ? request.uri() : uri; // the normalized target: what was routed is what is sent
        this.sink = sink;
        this.rewriteContext = ctx;
        this.responseRules = route.location().features().responseHeaders();
        this.vertx = vertx;
        this.snapshot = snapshot;
        this.config = snapshot.config();
        this.req = req;
        this.resp = req.response();
        this.route = route;
        this.upstream = upstream;
        this.group = upstream.group();
        this.policy = route.location().retry();
        this.body = body;
        this.requestId = request.requestId();
        this.clientIp = request.clientIp();
        this.metrics = metrics;
        this.accessLog = accessLog;
        this.deadline = startNanos + policy.timeout().toNanos();
        this.outHeaders = Headers.upstreamRequest(request, config);
        if (headerOverrides != null) {
            for (String n : List.of("If-None-Match", "If-Modified-Since", "Range", "If-Range")) {
                outHeaders.remove(n);
                if (headerOverrides.contains(n)) {
                    outHeaders.set(n, headerOverrides.get(n));
                }
            }
        }
        if (ctx != null) {
            route.location().features().requestHeaders().apply(outHeaders, ctx);
        }
        this.hashKey = hashKey(group.config().hashKey());
    }

    private String hashKey(UpstreamConfig.HashKey key) {
        return switch (key.source()) {
            case URI -> request.uri();
            case CLIENT_IP -> clientIp;
            case HEADER -> req.getHeader(key.name());
            case COOKIE -> {
                Cookie c = req.getCookie(key.name());
                yield c == null ? null : c.getValue();
            }
        };
    }

    void start() {
        group.requestStarted();
        if (sink != null) {
            // The cache owns the client response; this exchange only fetches.
            Peer first = group.pick(tried, hashKey);
            if (first == null) {
                error(503, "no live upstream in '" + group.name() + "'");
                return;
            }
            send(first, false);
            return;
        }
        resp.closeHandler(v -> {
            clientGone = true;
            if (current != null && !committed) {
                current.reset();
            }
            HttpClientResponse r = relaying;
            if (r != null) {
                r.request().reset(); // the client left mid-body: don't return a half-read connection to the pool
            }
            releaseEncoder();
            finish();
        });
        resp.endHandler(v -> finish());
        Peer first = group.pick(tried, hashKey);
        if (first == null) {
            noRetry = "no-live-upstreams";
            error(503, "no live upstream: every server of upstream '" + group.name() + "' is down ("
                    + group.peers().size() + " configured, " + group.availableCount() + " available)");
            return;
        }
        send(first, false);
    }

    private void send(Peer peer, boolean fresh) {
        tried.add(peer);
        addrs.add(peer.key());
        long t0 = System.nanoTime();
        long left = Math.max(1, (deadline - t0) / 1_000_000);
        RequestOptions o = new RequestOptions()
                .setMethod(method)
                .setHost(peer.config().address().host())
                .setPort(peer.config().address().port())
                .setURI(uri)
                .setConnectTimeout(Math.min(route.location().controls().timeouts().connect(config.timeouts()).toMillis(), left))
                .setIdleTimeout(Math.min(route.location().controls().timeouts().read(config.timeouts()).toMillis(), left))
                .setHeaders(outHeaders);
        HttpClientAgent client = fresh ? upstream.fresh() : upstream.pooled();
        client.request(o).onComplete(ar -> {
            if (ar.failed()) {
                failed(peer, Failure.ofConnect(ar.cause()), t0);
                return;
            }
            HttpClientRequest creq = ar.result();
            if (clientGone) {
                creq.reset();
                group.release(peer, false, System.nanoTime() - t0);
                return;
            }
            current = creq;
            boolean reused = !fresh && upstream.markUsed(creq.connection());
            io.tiergate.proxy.request.Authority a = request.authority(); // normalized; absolute-form's replaces Host
            if (a != null) {
                creq.authority(HostAndPort.create(a.host(), a.port()));
            }
            if (body == Body.EMPTY) {
                if (req.method() == HttpMethod.POST || req.method() == HttpMethod.PUT) {
                    creq.putHeader("Content-Length", "0");
                }
            } else if (body.length() >= 0) {
                creq.putHeader("Content-Length", Long.toString(body.length()));
            } else {
                creq.setChunked(true);
            }
            creq.response().onComplete(rar -> {
                if (rar.failed()) {
                    Failure f = Failure.ofExchange(rar.cause());
                    if (reused && f == Failure.RESET && !freshResendUsed && !clientGone && canResend()) {
                        // The origin closed a kept-alive connection as we reused it: not the server's fault.
                        freshResendUsed = true;
                        send(peer, true);
                        return;
                    }
                    failed(peer, f, t0);
                    return;
                }
                responded(peer, rar.result(), t0);
            });
            body.writeTo(vertx, creq);
        });
    }

    private boolean canResend() {
        return body.replayable() && (RetryDecision.idempotent(method) || policy.nonIdempotent());
    }

    private void failed(Peer peer, Failure f, long t0) {
        current = null;
        endRetrySlot();
        statuses.add(f.name().toLowerCase());
        if (group.release(peer, true, System.nanoTime() - t0)) {
            metrics.ejection(group.name(), peer.key());
        }
        if (clientGone) {
            return;
        }
        Peer next = retryTarget(f.condition());
        if (next != null) {
            metrics.retry(group.name(), f.condition().configName());
            send(next, false);
            return;
        }
        error(f.status(), f.message() + " (upstream '" + group.name() + "', tried " + String.join(", ", addrs)
                + "; not retried: " + noRetry + ")");
    }

    private void responded(Peer peer, HttpClientResponse cresp, long t0) {
        endRetrySlot();
        int status = cresp.statusCode();
        statuses.add(Integer.toString(status));
        RetryCondition c = RetryCondition.ofStatus(status);
        boolean bad = c != null && policy.retries(c);
        if (group.release(peer, bad, System.nanoTime() - t0)) {
            metrics.ejection(group.name(), peer.key());
        }
        if (clientGone) {
            cresp.request().reset();
            return;
        }
        if (bad) {
            Peer next = retryTarget(c);
            if (next != null) {
                metrics.retry(group.name(), c.configName());
                cresp.body(); // drain so the pooled connection can be reused
                current = null;
                send(next, false);
                return;
            }
        }
        relay(cresp);
    }

    /** The server to retry on, or null (with {@link #noRetry} saying why). Takes a budget slot when non-null. */
    private Peer retryTarget(RetryCondition c) {
        boolean replayable = body.replayable() || !body.consumed();
        String refuse = RetryDecision.refuse(policy, c, method, tried.size(), deadline - System.nanoTime(),
                replayable);
        if (refuse == null && !group.tryStartRetry(policy)) {
            refuse = "budget-exhausted";
        }
        if (refuse != null) {
            noRetry = refuse;
            metrics.retryRefused(group.name(), refuse);
            return null;
        }
        Peer next = group.pick(tried, hashKey);
        if (next == null) {
            group.retryFinished();
            noRetry = "no-other-server";
            return null;
        }
        holdsRetrySlot = true;
        return next;
    }

    private void endRetrySlot() {
        if (holdsRetrySlot) {
            holdsRetrySlot = false;
            group.retryFinished();
        }
    }

    private void relay(HttpClientResponse cresp) {
        committed = true;
        current = null;
        if (sink != null) {
            int status = cresp.statusCode();
            MultiMap h = Headers.endToEnd(cresp.headers());
            cresp.body().onComplete(b -> {
                if (b.succeeded()) {
                    sink.tryComplete(new io.tiergate.proxy.cache.CacheResponse(status, h, b.result()));
                } else {
                    sink.tryFail(new UpstreamError(502, "upstream broke mid-response: " + b.cause()));
                }
                finishFetch(status);
            });
            return;
        }
        resp.setStatusCode(cresp.statusCode());
        if (cresp.statusMessage() != null) {
            resp.setStatusMessage(cresp.statusMessage());
        }
        MultiMap h = Headers.endToEnd(cresp.headers());
        GzipConfig gzip = route.location().features().gzip();
        Coding coding = gzip.enabled()
                ? Compression.negotiate(gzip, req.method().name(), req.headers(), cresp.statusCode(), h)
                : Coding.IDENTITY;
        decorate(h);
        resp.headers().setAll(h);
        boolean noBody = req.method() == HttpMethod.HEAD || cresp.statusCode() == 204 || cresp.statusCode() == 304
                || cresp.statusCode() < 200;
        if (!noBody && !h.contains("Content-Length")) {
            resp.setChunked(true);
        }
        relaying = cresp;
        // Compression sits inside the relay: each upstream chunk is encoded and flushed (SYNC_FLUSH / brotli flush)
        // as it arrives, so streaming keeps streaming. The encoder's native state is released on every path.
        ContentEncoder enc = coding == Coding.IDENTITY ? null : coding.encoder(gzip);
        encoder = enc;
        // A hand-written relay rather than Pipe: Pipe allocates futures per chunk and showed up at the top of the
        // profile for small responses. Back-pressure: pause the upstream while the client's write queue is full.
        cresp.exceptionHandler(t -> {
            releaseEncoder();
            if (!resp.ended()) {
                // Bytes already reached the client: the only honest signal left is an abrupt close.
                noRetry = "upstream-broke-mid-response";
                resp.reset();
                req.connection().close();
            }
        });
        cresp.handler(chunk -> {
            if (clientGone) {
                return;
            }
            if (enc == null) {
                resp.write(chunk);
            } else {
                Buffer out = enc.write(chunk);
                if (out.length() > 0) {
                    resp.write(out);
                }
            }
            if (resp.writeQueueFull()) {
                cresp.pause();
                resp.drainHandler(v -> cresp.resume());
            }
        });
        cresp.endHandler(v -> {
            relaying = null;
            if (clientGone) {
                releaseEncoder();
            } else if (enc == null) {
                resp.end();
            } else {
                encoder = null;
                resp.end(enc.finish());
            }
        });
    }

    private void releaseEncoder() {
        ContentEncoder e = encoder;
        if (e != null) {
            encoder = null;
            e.close();
        }
    }

    private void decorate(MultiMap h) {
        if (config.forwarding().via()) {
            Headers.appendVia(h, "1.1", config.nodeName());
        }
        if (!config.nodeHeader().isEmpty()) {
            h.set(config.nodeHeader(), config.nodeName());
        }
        if (!config.forwarding().requestIdHeader().isEmpty()) {
            h.set(config.forwarding().requestIdHeader(), requestId);
        }
        if (rewriteContext != null) {
            responseRules.apply(h, rewriteContext);
        }
    }

    private void error(int status, String message) {
        committed = true;
        if (sink != null) {
            sink.tryFail(new UpstreamError(status, message));
            finishFetch(status);
            return;
        }
        if (clientGone || resp.ended() || resp.headWritten()) {
            return;
        }
        MultiMap h = MultiMap.caseInsensitiveMultiMap();
        decorate(h);
        resp.headers().setAll(h);
        resp.setStatusCode(status).putHeader("Content-Type", "text/plain; charset=utf-8")
                .end(status + " " + io.netty.handler.codec.http.HttpResponseStatus.valueOf(status).reasonPhrase()
                        + ": " + message + "\n");
    }

    /** An upstream failure as the cache sees it (it may answer stale instead). */
    static final class UpstreamError extends RuntimeException {
        final int status;

        UpstreamError(int status, String message) {
            super(message, null, false, false);
            this.status = status;
        }
    }

    /** Sink mode: the upstream side is done; the client side is accounted for by whoever answers the client. */
    private void finishFetch(int status) {
        if (finished) {
            return;
        }
        finished = true;
        endRetrySlot();
        group.requestFinished();
        metrics.request(route.location().label(), group.name(), status, System.nanoTime() - startNanos);
    }

    private void finish() {
        if (finished) {
            return;
        }
        finished = true;
        endRetrySlot();
        group.requestFinished();
        body.dispose();
        request.notes().ended();
        long nanos = System.nanoTime() - startNanos;
        int status = clientGone && !resp.ended() ? 499 : resp.getStatusCode();
        metrics.request(route.location().label(), group.name(), status, nanos);
        accessLog.log(new AccessLog.Entry(startMillis, clientIp, req.method().name(), req.uri(),
                req.version() == null ? "HTTP/1.1" : req.version().alpnName().toUpperCase(), status,
                resp.bytesWritten(), req.getHeader("Referer"), req.getHeader("User-Agent"), nanos / 1000,
                route.location().label(), group.name(), String.join(",", addrs), String.join(",", statuses),
                tried.size(), body.mode(), noRetry, requestId, request.notes().limit()));
        snapshot.release();
    }
}
