package io.tiergate.proxy.forward;

import io.netty.handler.codec.http.HttpHeaderNames;
import io.tiergate.proxy.config.ProxyConfig;
import io.tiergate.proxy.request.ProxyRequest;
import io.tiergate.proxy.upstream.Peer;
import io.tiergate.proxy.upstream.UpstreamGroup;
import io.tiergate.shared.runtime.LoopClock;
import io.vertx.core.MultiMap;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.WebSocketBase;
import io.vertx.core.http.WebSocketClient;
import io.vertx.core.http.WebSocketClientOptions;
import io.vertx.core.http.WebSocketConnectOptions;
import io.vertx.core.http.WebSocketFrame;

import java.util.Set;

/**
 * WebSocket upgrades: the upstream handshake is made first (so a dead upstream gives the client a 502, not a
 * WebSocket that closes at once), then the client's is accepted and frames are relayed both ways with
 * back-pressure. A tunnel does not hold the config snapshot: a reload never closes an open WebSocket, and one client
 * for the whole node means replacing an upstream group's pools does not either.
 */
public final class WebSocketTunnel {
    private final Vertx vertx;
    private final WebSocketClient client;
    /**
     * wss to TLS groups: on the listeners' engine (BoringSSL), a handshake per tunnel. Made by the first such tunnel: a
     * node without TLS then never loads the TLS library (~0.3 s of its start, and its memory).
     */
    private WebSocketClient tlsClient;

    public WebSocketTunnel(Vertx vertx) {
        this.vertx = vertx;
        this.client = vertx.createWebSocketClient(options());
    }

    private synchronized WebSocketClient tlsClient() {
        if (tlsClient == null) {
            tlsClient = vertx.createWebSocketClient(options()
                    .setSslEngineOptions(io.tiergate.proxy.tls.TlsEngine.client()));
        }
        return tlsClient;
    }

    private static WebSocketClientOptions options() {
        return new WebSocketClientOptions().setMaxFrameSize(1 << 20).setMaxMessageSize(16 << 20);
    }

    /** {@code Upgrade: websocket} on a GET (RFC 6455 §4.1). */
    static boolean isUpgrade(HttpServerRequest req) {
        String up = req.getHeader(HttpHeaderNames.UPGRADE);
        return up != null && up.equalsIgnoreCase("websocket") && req.method().name().equals("GET");
    }

    void open(ProxyRequest request, ProxyConfig config, UpstreamGroup group, Runnable onFailure) {
        HttpServerRequest req = request.raw();
        Peer peer = group.pick(Set.of(), null);
        if (peer == null) {
            onFailure.run();
            return;
        }
        MultiMap h = Headers.upstreamRequest(request, config);
        // The client library writes its own handshake fields. Host stays the client's (normalized), as on any
        // forwarded request: the library only writes the peer's address when no Host is given.
        for (String n : new String[] {"Host", "Sec-WebSocket-Key", "Sec-WebSocket-Version", "Sec-WebSocket-Extensions"}) {
            h.remove(n);
        }
        io.tiergate.proxy.request.Authority a = request.authority();
        if (a != null) {
            h.set("Host", a.text());
        }
        WebSocketConnectOptions o = new WebSocketConnectOptions().setHost(peer.config().address().host())
                .setPort(peer.config().address().port()).setURI(request.uri()).setHeaders(h)
                .setConnectTimeout(config.timeouts().upstreamConnect().toMillis());
        io.tiergate.proxy.config.UpstreamConfig.Tls tls = group.config().tls();
        String tlsName = group.config().tlsName(peer.config());
        if (tls != null) {
            // wss to a TLS group, with its CA and client certificate. Vert.x's WebSocket client connects by the host
            // it is given (no separate socket address), so it gets the server's address and the TLS name is checked
            // against the certificate right after the handshake instead of in it (no SNI is sent).
            io.vertx.core.net.ClientSSLOptions ssl = io.tiergate.proxy.tls.Certificates.clientOptions(tls, false);
            o.setSsl(true).setSslOptions(ssl.setHostnameVerificationAlgorithm(""));
        }
        long t0 = LoopClock.nanoTime();
        (tls != null ? tlsClient() : client).connect(o).onComplete(ar -> {
            if (ar.failed()) {
                group.release(peer, true, LoopClock.nanoTime() - t0);
                req.response().setStatusCode(502).putHeader("Content-Type", "text/plain; charset=utf-8")
                        .end("502 Bad Gateway: WebSocket handshake with " + peer.key() + " failed: "
                                + ar.cause().getMessage() + "\n");
                return;
            }
            var upstream = ar.result();
            if (tls != null && tls.verify() && !nameVerified(upstream, tlsName)) {
                upstream.close();
                group.release(peer, true, LoopClock.nanoTime() - t0);
                req.response().setStatusCode(502).putHeader("Content-Type", "text/plain; charset=utf-8")
                        .end("502 Bad Gateway: WebSocket handshake with " + peer.key() + " failed: its certificate"
                                + " is not issued for " + tlsName + "\n");
                return;
            }
            req.toWebSocket().onComplete(sr -> {
                if (sr.failed()) {
                    group.release(peer, false, LoopClock.nanoTime() - t0);
                    upstream.close();
                    return;
                }
                var downstream = sr.result();
                relay(downstream, upstream);
                relay(upstream, downstream);
                boolean[] released = {false};
                Runnable done = () -> {
                    if (!released[0]) {
                        released[0] = true;
                        group.release(peer, false, LoopClock.nanoTime() - t0);
                    }
                };
                downstream.closeHandler(v -> {
                    done.run();
                    closeWith(upstream, downstream);
                });
                upstream.closeHandler(v -> {
                    done.run();
                    closeWith(downstream, upstream);
                });
            });
        });
    }

    /** The leaf the upstream presented is issued for {@code name} (the chain was verified in the handshake). */
    private static boolean nameVerified(io.vertx.core.http.WebSocket ws, String name) {
        try {
            java.util.List<java.security.cert.Certificate> chain = ws.peerCertificates();
            return !chain.isEmpty() && chain.get(0) instanceof java.security.cert.X509Certificate leaf
                    && io.tiergate.proxy.tls.Certificates.matchesName(leaf, name);
        } catch (javax.net.ssl.SSLPeerUnverifiedException e) {
            return false;
        }
    }

    private static void relay(WebSocketBase from, WebSocketBase to) {
        from.frameHandler((WebSocketFrame f) -> {
            if (f.isText() || f.isBinary() || f.isContinuation()) {
                to.writeFrame(f);
                if (to.writeQueueFull()) {
                    from.pause();
                    to.drainHandler(v -> from.resume());
                }
            }
        });
    }

    /** Closes {@code other} with the status the closed side received (1000 when there was none). */
    private static void closeWith(WebSocketBase other, WebSocketBase closed) {
        if (!other.isClosed()) {
            Short code = closed.closeStatusCode();
            short c = code == null || code == 1005 || code == 1006 ? 1000 : code;
            other.close(c, closed.closeReason());
        }
    }

    public void close() {
        client.close();
        synchronized (this) {
            if (tlsClient != null) {
                tlsClient.close();
            }
        }
    }
}
