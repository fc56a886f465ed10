package io.tiergate.proxy.forward;

import io.netty.handler.codec.http.HttpHeaderNames;
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
import io.tiergate.shared.runtime.LoopClock;
import io.vertx.core.MultiMap;
import io.vertx.core.http.Cookie;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.core.http.HttpVersion;

import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * One client request on its way through the upstream group: pick a server, send it with an {@link UpstreamSender},
 * and on failure decide — in {@link #retry}, the one place that does, with {@link RetryDecision} and the group's
 * budget — whether to send it again. Once the response head has been passed to the client the exchange is committed
 * and nothing is retried any more. All callbacks run on the client connection's event loop.
 */
final class Exchange {
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
    private final UpstreamSender sender;
    private final UpstreamSender.Outbound outbound;
    private final String requestId;
    private final String clientIp;
    private final ProxyMetrics metrics;
    private final AccessLog accessLog;
    private final long startNanos = LoopClock.nanoTime();
    private final long deadline;
    private Set<Peer> tried = Set.of(); // an immutable set per attempt: one attempt makes no hash set
    private final Trail addrs = new Trail();
    private final Trail statuses = new Trail();
    private final String hashKey;
    private boolean holdsRetrySlot;
    private boolean freshResendUsed;
    private boolean committed;
    private boolean finished;
    private boolean clientGone;
    private String noRetry;
    private UpstreamSender.Attempt current;
    private Relay relay; // once committed
    private boolean cutMidResponse; // the client got a deliberately truncated response
    private final HttpMethod method;
    private final io.vertx.core.Promise<io.tiergate.proxy.cache.CacheResponse> sink;
    private final io.tiergate.proxy.rewrite.HeaderRules responseRules;
    private final io.tiergate.proxy.rewrite.RequestContext rewriteContext;

    Exchange(Forwarding fw, ProxyRequest request, Route route, UpstreamClient upstream, Body body, Hooks hooks) {
        HttpServerRequest req = request.raw();
        this.request = request;
        this.method = hooks.method() == null ? req.method() : hooks.method();
        this.sink = hooks.sink();
        this.rewriteContext = hooks.rewrite();
        this.responseRules = route.location().features().responseHeaders();
        this.snapshot = fw.snapshot();
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
        this.metrics = fw.metrics();
        this.accessLog = fw.accessLog();
        this.deadline = startNanos + policy.timeout().toNanos();
        MultiMap outHeaders = Headers.upstreamRequest(request, config);
        MultiMap overrides = hooks.headerOverrides();
        if (overrides != null) {
            for (String n : List.of("If-None-Match", "If-Modified-Since", "Range", "If-Range")) {
                outHeaders.remove(n);
                if (overrides.contains(n)) {
                    outHeaders.set(n, overrides.get(n));
                }
            }
        }
        if (rewriteContext != null) {
            route.location().features().requestHeaders().apply(outHeaders, rewriteContext);
        }
        if (group.config().protocol().http2() && Grpc.asksForTrailers(req)) {
            outHeaders.set("te", "trailers"); // the one TE value HTTP/2 allows; gRPC servers expect it
        }
        var timeouts = route.location().controls().timeouts();
        // The normalized target: what was routed is what is sent (unless a feature rewrote it).
        String uri = hooks.uri() == null ? request.uri() : hooks.uri();
        this.outbound = new UpstreamSender.Outbound(method, uri, outHeaders, request.authority(), body,
                timeouts.connect(config.timeouts()).toMillis(), timeouts.read(config.timeouts()).toMillis(), deadline);
        this.sender = upstream.sender(body);
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
                current.abort();
            }
            if (relay != null) {
                relay.clientLeft();
            }
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

    private static Set<Peer> triedAnd(Set<Peer> tried, Peer peer) {
        if (tried.isEmpty()) {
            return Set.of(peer);
        }
        Set<Peer> more = new HashSet<>(tried);
        more.add(peer);
        return more;
    }

    private void send(Peer peer, boolean fresh) {
        tried = triedAnd(tried, peer);
        addrs.add(peer.key());
        long t0 = LoopClock.nanoTime();
        // A listener may be called before send() returns (a refused connect): only an unsettled attempt is current.
        boolean[] settled = {false};
        UpstreamSender.Attempt attempt = sender.send(outbound, peer, fresh, new UpstreamSender.Listener() {
            @Override
            public void connectFailed(Throwable cause) {
                settled[0] = true;
                tlsFailure(peer, cause);
                Exchange.this.failed(peer, Failure.ofConnect(cause), t0, false);
            }

            @Override
            public void failed(Throwable cause, boolean reused) {
                settled[0] = true;
                Exchange.this.failed(peer, Failure.ofExchange(cause), t0, reused && !fresh);
            }

            @Override
            public void head(UpstreamResponse response) {
                settled[0] = true;
                responded(peer, response, t0);
            }

            @Override
            public void earlyHints(MultiMap hints) {
                Exchange.this.earlyHints(hints);
            }

            @Override
            public void aborted() {
                settled[0] = true;
                current = null;
                group.release(peer, false, LoopClock.nanoTime() - t0);
            }
        });
        if (!settled[0]) {
            current = attempt;
        }
    }

    /**
     * A refused TLS handshake is a configuration problem an operator must see (wrong CA, wrong name, expired or
     * missing client certificate), not a flaky server: one WARN per failure naming the server and the reason.
     */
    private void tlsFailure(Peer peer, Throwable t) {
        for (Throwable c = t; c != null; c = c.getCause()) {
            if (c instanceof javax.net.ssl.SSLException) {
                tlsProblem = "TLS handshake with " + peer.key() + " (name " + upstream.tlsName(peer.config())
                        + ") failed: " + tlsReason(c);
                TLS_LOG.warn("upstream '{}': {}", group.name(), tlsProblem);
                return;
            }
        }
    }

    /** The operator's words for why a handshake failed, from the deepest cause that says it. */
    private static String tlsReason(Throwable t) {
        Throwable root = t;
        for (Throwable c = t; c != null; c = c.getCause()) {
            if (c instanceof java.security.cert.CertificateExpiredException) {
                return "the server's certificate has expired (" + c.getMessage() + ")";
            }
            if (c instanceof java.security.cert.CertificateNotYetValidException) {
                return "the server's certificate is not valid yet (" + c.getMessage() + ")";
            }
            if (c instanceof java.security.cert.CertPathBuilderException) {
                return "the server's certificate is not issued by a CA in tls.ca (" + c.getMessage() + ")";
            }
            root = c;
            if (c.getCause() == c) {
                break;
            }
        }
        return root.getMessage() == null ? root.getClass().getSimpleName() : root.getMessage();
    }

    private static final org.slf4j.Logger TLS_LOG = org.slf4j.LoggerFactory.getLogger("io.tiergate.proxy.upstream.tls");
    private String tlsProblem; // the last TLS handshake failure of this exchange, for the 502's text

    /**
     * A 103 from the origin goes to the client at once (RFC 8297), hop-by-hop fields removed. Not to HTTP/1.0 clients
     * (RFC 9110 §15.2: no 1xx to them), and not once the final head is out.
     */
    private void earlyHints(MultiMap hints) {
        if (sink != null || clientGone || resp.headWritten() || req.version() == HttpVersion.HTTP_1_0) {
            return;
        }
        resp.writeEarlyHints(Headers.endToEnd(hints));
    }

    private boolean canResend() {
        return body.replayable() && (RetryDecision.idempotent(method) || policy.nonIdempotent());
    }

    /** An attempt that produced no usable response. {@code reused}: it ran on a connection pooled before. */
    private void failed(Peer peer, Failure f, long t0, boolean reused) {
        current = null;
        if (reused && f.condition() == RetryCondition.RESET && !freshResendUsed && !clientGone && canResend()) {
            // The origin closed a kept-alive connection as we reused it: not the server's fault, not a retry.
            freshResendUsed = true;
            send(peer, true);
            return;
        }
        endRetrySlot();
        statuses.add(f.name().toLowerCase());
        if (group.release(peer, true, LoopClock.nanoTime() - t0)) {
            metrics.ejection(group.name(), peer.key());
        }
        if (clientGone) {
            return;
        }
        if (!retry(f.condition())) {
            error(f.status(), f.message() + (tlsProblem == null ? "" : ": " + tlsProblem) + " (upstream '"
                    + group.name() + "', tried " + addrs.join(", ") + "; not retried: " + noRetry + ")");
        }
    }

    private void responded(Peer peer, UpstreamResponse cresp, long t0) {
        current = null;
        int status = cresp.status();
        if (status < 200) {
            // Only a 101 gets here (UpstreamGuard drops other interim codes, 100 and 103 are taken before), and it
            // answers a request that asked for no upgrade (WebSocketTunnel does those): a broken origin (RFC 9110
            // §15.2.2). Closing the connection stops it from being pooled in a switched state.
            cresp.abort();
            failed(peer, Failure.INVALID, t0, false);
            return;
        }
        endRetrySlot();
        statuses.add(Headers.statusText(status));
        RetryCondition c = RetryCondition.ofStatus(status);
        boolean bad = c != null && policy.retries(c);
        if (group.release(peer, bad, LoopClock.nanoTime() - t0)) {
            metrics.ejection(group.name(), peer.key());
        }
        if (clientGone) {
            cresp.abort();
            return;
        }
        if (bad && retry(c, cresp)) {
            return;
        }
        relay(cresp);
    }

    private boolean retry(RetryCondition c) {
        return retry(c, null);
    }

    /**
     * The retry decision, for failures and for retryable statuses alike: true when the request went out again to
     * another server (taking a slot of the group's retry budget); false with {@link #noRetry} saying why not.
     * {@code dropped}: a response being replaced, drained so its connection can be reused.
     */
    private boolean retry(RetryCondition c, UpstreamResponse dropped) {
        boolean replayable = body.replayable() || !body.consumed();
        String refuse = RetryDecision.refuse(policy, c, method, tried.size(), deadline - LoopClock.nanoTime(),
                replayable);
        if (refuse == null && !group.tryStartRetry(policy)) {
            refuse = "budget-exhausted";
        }
        if (refuse != null) {
            noRetry = refuse;
            metrics.retryRefused(group.name(), refuse);
            group.retried(true);
            return false;
        }
        Peer next = group.pick(tried, hashKey);
        if (next == null) {
            group.retryFinished();
            noRetry = "no-other-server";
            return false;
        }
        holdsRetrySlot = true;
        metrics.retry(group.name(), c.configName());
        group.retried(false);
        if (dropped != null) {
            dropped.discard();
        }
        send(next, false);
        return true;
    }

    private void endRetrySlot() {
        if (holdsRetrySlot) {
            holdsRetrySlot = false;
            group.retryFinished();
        }
    }

    /** The head is final: from here the response goes to the client (or the cache's sink), never retried. */
    private void relay(UpstreamResponse cresp) {
        committed = true;
        current = null;
        relay = new Relay(this, req, route.location().features().gzip(), config.timeouts().upstreamRead().toMillis(),
                sink);
        relay.start(cresp);
    }

    // What the relay reports back, for the access log and the client's error responses.

    boolean clientGone() {
        return clientGone;
    }

    void note(String upstreamStatus) {
        statuses.add(upstreamStatus);
    }

    void noRetry(String why) {
        noRetry = why;
    }

    void cutMidResponse() {
        cutMidResponse = true;
    }

    /** "upstream 'NAME', ADDRESS" of the server that answered, for messages. */
    String answeredBy() {
        return "upstream '" + group.name() + "', " + addrs.last();
    }

    /** Via, the node header, the request id and the location's response header rules, on a response head. */
    void decorate(MultiMap h) {
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

    /** Answers the client with {@code status} (or fails the cache's sink) unless a head already went out. */
    void error(int status, String message) {
        committed = true;
        if (sink != null) {
            sink.tryFail(new UpstreamError(status, message));
            finishFetch();
            return;
        }
        if (clientGone || resp.ended() || resp.headWritten()) {
            return;
        }
        MultiMap h = MultiMap.caseInsensitiveMultiMap();
        decorate(h);
        if (Grpc.isGrpc(req)) {
            Grpc.fail(resp, h, status, message);
            return;
        }
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

    /**
     * Sink mode: the upstream side is done. The client's request is counted and logged once, by whoever answers the
     * client (the cache's answer), not here as well: a miss counted twice in {@code tiergate_proxy_requests}.
     */
    void finishFetch() {
        if (finished) {
            return;
        }
        finished = true;
        endRetrySlot();
        group.requestFinished();
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
        long nanos = LoopClock.nanoTime() - startNanos;
        int status = clientGone && !resp.ended() && !cutMidResponse ? 499 : resp.getStatusCode();
        metrics.request(route.location().label(), group.name(), status, nanos);
        if (accessLog.enabled()) {
            long startMillis = LoopClock.currentTimeMillis() - nanos / 1_000_000; // derived: no wall clock per request
            accessLog.log(new AccessLog.Entry(startMillis, clientIp, req.method().name(), req.uri(),
                    AccessLog.protocol(req.version()), status,
                    resp.bytesWritten(), req.getHeader(HttpHeaderNames.REFERER),
                    req.getHeader(HttpHeaderNames.USER_AGENT), nanos / 1000,
                    route.location().label(), group.name(), addrs.join(","), statuses.join(","),
                    tried.size(), body.mode(), noRetry, requestId, request.notes().limit()));
        }
        snapshot.release();
    }
}
