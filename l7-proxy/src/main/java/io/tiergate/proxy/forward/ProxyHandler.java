package io.tiergate.proxy.forward;

import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.tiergate.proxy.config.ProxyConfig;
import io.tiergate.proxy.log.AccessLog;
import io.tiergate.proxy.log.ProxyMetrics;
import io.tiergate.proxy.ClosingConnection;
import io.tiergate.proxy.request.Authority;
import io.tiergate.proxy.request.BadRequest;
import io.tiergate.proxy.request.NormalizedTarget;
import io.tiergate.proxy.request.ProxyRequest;
import io.tiergate.proxy.request.RequestNotes;
import io.tiergate.proxy.controls.ControlStage;
import io.tiergate.proxy.request.RequestNormalizer;
import io.tiergate.proxy.route.Route;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.core.http.HttpVersion;

import java.util.List;
import java.util.Locale;
import java.util.function.Supplier;

/**
 * The entry of the pipeline for one request: framing checks that Netty's decoder leaves to us (no smuggling),
 * routing, limits, body buffering, then an {@link Exchange}.
 */
public final class ProxyHandler {
    private final Vertx vertx;
    private final Supplier<Snapshot> current;
    private final ProxyMetrics metrics;
    private final AccessLog accessLog;
    private final WebSocketTunnel webSockets;
    private final ControlStage controls;
    private static final org.slf4j.Logger log = org.slf4j.LoggerFactory.getLogger(ProxyHandler.class);
    // One store for the node's lifetime, made on first use: a reload keeps what is cached (its size is read once).
    private volatile io.tiergate.proxy.cache.CacheFilter cache;

    public ProxyHandler(Vertx vertx, Supplier<Snapshot> current, ProxyMetrics metrics, AccessLog accessLog) {
        this.vertx = vertx;
        this.current = current;
        this.metrics = metrics;
        this.accessLog = accessLog;
        this.webSockets = new WebSocketTunnel(vertx);
        this.controls = new ControlStage(vertx, metrics, accessLog);
    }

    /** The limits, access rules and auth stage (node lifetime: its tables survive reloads). */
    public ControlStage controls() {
        return controls;
    }

    /** The cache if a request has made it, else null (for the cache gauges, which must not create it). */
    public io.tiergate.proxy.cache.CacheFilter cacheIfCreated() {
        return cache;
    }

    /** The node's cache, for the admin API's purge. */
    public io.tiergate.proxy.cache.CacheFilter cache() {
        io.tiergate.proxy.cache.CacheFilter c = cache;
        if (c == null) {
            synchronized (this) {
                if (cache == null) {
                    cache = new io.tiergate.proxy.cache.CacheFilter(vertx, current.get().config().cache());
                }
                c = cache;
            }
        }
        return c;
    }

    public void handle(HttpServerRequest req, String listener) {
        boolean mayCarryBody = Body.mayCarryBody(req);
        if (mayCarryBody) {
            req.pause(); // until the controls let it through and the body's reader is in place
        }
        if (req.version() != HttpVersion.HTTP_2 && ClosingConnection.marked(req.connection())) {
            return; // pipelined behind a response that closes the connection: never served, never forwarded
        }
        try {
            serve(req, listener, mayCarryBody);
        } catch (RuntimeException e) {
            // A bug, not the client's fault: answer rather than leave the stream hanging, and keep the trace.
            log.error("request {} {} failed in the proxy", req.method(), Authority.printable(String.valueOf(req.uri())), e);
            reject(req, 500, "internal error in the proxy (logged)");
        }
    }

    /** {@code mayCarryBody}: {@link Body#mayCarryBody}'s answer; false means no Content-Length and no Transfer-Encoding. */
    private void serve(HttpServerRequest req, String listener, boolean mayCarryBody) {
        Snapshot snap = current.get();
        ProxyConfig config = snap.config();
        // Most requests have neither field (then not even looked up again); a list only when one is there.
        io.vertx.core.MultiMap rh = req.headers();
        List<String> cls = mayCarryBody && rh.contains(HttpHeaderNames.CONTENT_LENGTH)
                ? rh.getAll(HttpHeaderNames.CONTENT_LENGTH) : List.of();
        List<String> tes = mayCarryBody && rh.contains(HttpHeaderNames.TRANSFER_ENCODING)
                ? rh.getAll(HttpHeaderNames.TRANSFER_ENCODING) : List.of();
        long contentLength = -1;
        if (cls.size() > 1) {
            reject(req, 400, "more than one Content-Length header");
            return;
        }
        if (cls.size() == 1) {
            String v = cls.get(0).trim();
            if (!digits(v)) {
                reject(req, 400, "malformed Content-Length '" + cls.get(0) + "'");
                return;
            }
            contentLength = Long.parseLong(v);
        }
        boolean chunked = false;
        if (!tes.isEmpty()) {
            if (contentLength >= 0) {
                reject(req, 400, "both Content-Length and Transfer-Encoding (a request smuggling pattern)");
                return;
            }
            if (tes.size() != 1 || !tes.get(0).trim().toLowerCase(Locale.ROOT).equals("chunked")) {
                reject(req, 400, "unsupported Transfer-Encoding '" + String.join(", ", tes) + "' (only chunked)");
                return;
            }
            chunked = true;
        }
        if (req.uri() != null && req.uri().length() > config.limits().maxUriLength()) {
            reject(req, 414, "URI longer than " + config.limits().maxUriLength() + " bytes");
            return;
        }
        NormalizedTarget target;
        Route route;
        try {
            target = ProxyRequest.normalize(req, config.mergeSlashes());
            route = target.asterisk() ? null : snap.routes().route(listener, target);
        } catch (BadRequest e) {
            reject(req, e.status(), e.getMessage(), true, e.allow());
            return;
        }
        if (target.asterisk()) {
            // OPTIONS * asks about the server itself (RFC 9110 §9.3.7): the proxy answers, no origin is involved.
            req.response().putHeader("Allow", RequestNormalizer.ALLOW).putHeader("Content-Length", "0").end();
            req.resume();
            return;
        }
        if (closeRequested(req)) {
            ClosingConnection.mark(req.connection());
        }
        if (route == null) {
            reject(req, 404, "no location matches " + target.path(), false, null);
            return;
        }
        // A location's max_body_size (nginx client_max_body_size) overrides the global one.
        long maxBody = route.location().controls().maxBodySize() >= 0 ? route.location().controls().maxBodySize()
                : config.limits().maxBodySize();
        if (contentLength > maxBody) {
            controls.counted("max_body_size", "rejected");
            reject(req, 413, "request body of " + contentLength + " bytes is larger than max_body_size ("
                    + maxBody + " bytes)");
            return;
        }
        String peer = io.tiergate.proxy.ProxyProtocol.clientIp(req);
        ProxyRequest preq = new ProxyRequest(req, listener, target,
                config.forwarding().realIp().client(peer, req.headers(), config.forwarding()),
                Headers.requestId(req, config), peer, new RequestNotes());
        controls.prepare(config);
        long length = contentLength;
        boolean isChunked = chunked;
        controls.run(preq, route, name -> {
            UpstreamClient u = snap.upstreams().get(name);
            return u == null ? null : u.group();
        }, () -> forward(snap, preq, route, maxBody, length, isChunked));
    }

    /** After the controls let the request through: WebSocket tunnel, or read the body and run an Exchange. */
    private void forward(Snapshot snap, ProxyRequest preq, Route route, long maxBody, long contentLength,
                         boolean chunked) {
        HttpServerRequest req = preq.raw();
        ProxyConfig config = snap.config();
        // Null for a location that answers from disk (static files have no upstream).
        UpstreamClient upstream = route.location().upstream() == null ? null
                : snap.upstreams().get(route.location().upstream());
        if (upstream != null && WebSocketTunnel.isUpgrade(req)) {
            preq.notes().ended(); // a tunnel is not a request in progress: limit_conn counts its handshake only
            webSockets.open(preq, config, upstream.group(), () -> reject(req, 503,
                    "no live upstream: every server of upstream '" + upstream.group().name() + "' is down", false,
                    null));
            return;
        }
        if ("100-continue".equalsIgnoreCase(req.getHeader(HttpHeaderNames.EXPECT))) {
            req.response().writeContinue();
        }
        snap.acquire();
        // HTTP/2 has no chunked coding: a body without content-length is DATA frames of unknown total length.
        boolean unknownLength = chunked || (req.version() == HttpVersion.HTTP_2 && contentLength < 0 && !req.isEnded());
        Body.read(vertx, req, config, maxBody, contentLength, unknownLength).onComplete(ar -> {
            if (ar.failed()) {
                snap.release();
                preq.notes().ended();
                int status = ar.cause() instanceof Body.BodyException be ? be.status() : 400;
                if (status == 413) {
                    controls.counted("max_body_size", "rejected");
                }
                reject(req, status, ar.cause().getMessage());
                return;
            }
            FeatureStage.run(new Forwarding(vertx, snap, metrics, accessLog), preq, route, upstream, ar.result(),
                    cache());
        });
    }

    /** {@code Connection} is a token list (RFC 9110 §7.6.1): "close, X-Foo" asks to close too. */
    private static boolean closeRequested(HttpServerRequest req) {
        if (req.version() == HttpVersion.HTTP_2) {
            return false;
        }
        if (!req.headers().contains(HttpHeaderNames.CONNECTION)) {
            return false; // the usual case: one lookup by a name whose hash is computed once
        }
        for (String v : req.headers().getAll(HttpHeaderNames.CONNECTION)) {
            for (String token : v.split(",")) {
                if (token.trim().equalsIgnoreCase("close")) {
                    return true;
                }
            }
        }
        return false;
    }

    /** 1 to 18 ASCII digits (no sign, no spaces, no overflow). */
    private static boolean digits(String v) {
        if (v.isEmpty() || v.length() > 18) {
            return false;
        }
        for (int i = 0; i < v.length(); i++) {
            char c = v.charAt(i);
            if (c < '0' || c > '9') {
                return false;
            }
        }
        return true;
    }

    private static void reject(HttpServerRequest req, int status, String why) {
        reject(req, status, why, true, null);
    }

    /**
     * Answers without contacting an upstream. {@code close}: framing and syntax errors end an HTTP/1.x connection
     * (its state is unknown) and nothing pipelined behind the request is read; on HTTP/2 they end only the stream.
     */
    private static void reject(HttpServerRequest req, int status, String why, boolean close, String allow) {
        HttpServerResponse resp = req.response();
        if (resp.ended() || resp.headWritten()) {
            req.connection().close();
            return;
        }
        if (Grpc.isGrpc(req) && req.version() == HttpVersion.HTTP_2) {
            Grpc.fail(resp, io.vertx.core.MultiMap.caseInsensitiveMultiMap(), status, why);
            req.resume();
            return;
        }
        boolean h1Close = close && req.version() != HttpVersion.HTTP_2;
        if (h1Close) {
            ClosingConnection.mark(req.connection());
        }
        resp.setStatusCode(status).putHeader("Content-Type", "text/plain; charset=utf-8");
        if (h1Close) {
            resp.putHeader("Connection", "close");
        }
        if (allow != null) {
            resp.putHeader("Allow", allow);
        }
        resp.end(status + " " + HttpResponseStatus.valueOf(status).reasonPhrase() + ": " + why + "\n")
                .onComplete(v -> {
                    if (h1Close) {
                        req.connection().close();
                    }
                });
        if (!h1Close) {
            req.resume();
        }
    }
}
