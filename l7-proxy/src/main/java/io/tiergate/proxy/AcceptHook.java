package io.tiergate.proxy;

import io.netty.channel.Channel;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelPipeline;
import io.netty.util.AttributeKey;
import io.tiergate.proxy.config.ListenerConfig;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpConnection;
import io.vertx.core.http.HttpServer;
import io.vertx.core.internal.http.HttpServerInternal;
import io.vertx.core.net.impl.ConnectionBase;

import java.time.Duration;
import java.util.function.Supplier;

/**
 * Tiergate's first look at every accepted connection, before Vert.x sets its pipeline up.
 *
 * <p>Why: Vert.x calls the HttpServer's connection handler too late for two things. On an h2c listener it creates the
 * HttpConnection only after the first request head (it must see whether the connection starts with the HTTP/2 preface
 * or asks for {@code Upgrade: h2c}), too late to time that head. On a TLS listener it calls it after the handshake,
 * too late to read a PROXY header, which comes before the ClientHello.
 *
 * <p>How: a handler on the listening (server) channel sees each accepted child channel as a message on its way to
 * Netty's acceptor, i.e. before the child is registered and before Vert.x's child initializer has added anything.
 * There it refuses a peer outside the PROXY protocol's trusted sources (closing the socket unregistered: not a byte is
 * read), puts {@link ProxyProtocol.Decoder} at the head of the child's pipeline (so it runs before Vert.x's SslHandler
 * and HTTP codecs) and arms {@link ConnectionGuard.Opening}'s {@code client_header} deadline.
 *
 * <p>Vert.x 5 has no public way to reach its server channel: {@link #serverChannel} uses
 * {@code Runtimes.listeningChannel}, which follows two private fields ({@code NetServerImpl.resource},
 * {@code TcpServer.bindFuture}), and fails the listen with a clear message if a Vert.x upgrade renamed them; H2cTest
 * and ProxyProtocolTlsTest fail then (every listener goes through it).
 *
 * <p>Why the install runs on the listening channel's event loop: Netty links a handler added from another thread at
 * once but leaves it inactive until its {@code handlerAdded} task has run on that loop, passing every message straight
 * past it meanwhile; and the loop handles ready accepts before queued tasks. Installed from the verticle's thread (as
 * it once was), the hook was skipped by connections accepted in that gap, after {@code listen()} had completed, and a
 * replace (one per extra verticle instance) opened the gap again. On its own loop the hook is active before the next
 * accept is handled. Only connections accepted between the bind and the install (the socket accepts as soon as it
 * is bound, and Vert.x offers no way in before) can still miss it: on listeners where the hook enforces something
 * (PROXY protocol, max_connections) {@link #admit} closes them (fail closed); elsewhere they are served.
 */
final class AcceptHook extends ChannelInboundHandlerAdapter {
    static final String NAME = "tiergateAcceptHook";
    private static final AttributeKey<Boolean> HOOKED = AttributeKey.valueOf("tiergate.acceptHook");

    // Open connections of a listening socket, on the socket itself: shared by every event loop and kept when a
    // reload replaces the hook.
    private static final AttributeKey<java.util.concurrent.atomic.AtomicInteger> OPEN =
            AttributeKey.valueOf("tiergate.openConnections");

    private final ListenerConfig.ProxyProtocol proxyProtocol;
    private final Supplier<Duration> clientHeader;
    private final int maxConnections;
    private final Runnable onRefused;

    private AcceptHook(ListenerConfig.ProxyProtocol proxyProtocol, Supplier<Duration> clientHeader, int maxConnections,
                       Runnable onRefused) {
        this.proxyProtocol = proxyProtocol;
        this.clientHeader = clientHeader;
        this.maxConnections = maxConnections;
        this.onRefused = onRefused;
    }

    static Future<HttpServer> install(HttpServer server, ListenerConfig.ProxyProtocol proxyProtocol,
                                      Supplier<Duration> clientHeader) {
        return install(server, proxyProtocol, clientHeader, 0, () -> { });
    }

    /**
     * Installs (or replaces: a listener re-bound on a reload may share Vert.x's server socket) the hook on the
     * listening socket behind {@code server}, which must be listening. {@code proxyProtocol} null = no PROXY header.
     */
    static Future<HttpServer> install(HttpServer server, ListenerConfig.ProxyProtocol proxyProtocol,
                                      Supplier<Duration> clientHeader, int maxConnections, Runnable onRefused) {
        Channel listening;
        try {
            listening = serverChannel(server);
        } catch (ReflectiveOperationException | RuntimeException e) {
            return Future.failedFuture(new IllegalStateException(
                    "cannot reach Vert.x's listening channel to guard accepted connections (Vert.x internals changed?)",
                    e));
        }
        AcceptHook hook = new AcceptHook(proxyProtocol, clientHeader, maxConnections, onRefused);
        Context context = Vertx.currentContext();
        Promise<HttpServer> installed = Promise.promise();
        try {
            listening.eventLoop().execute(() -> {
                // The verticle instances sharing this socket each install (a reload re-installs): on this loop a
                // replace swaps the hooks between two accepts, never leaving a moment with neither active.
                ChannelPipeline p = listening.pipeline();
                listening.attr(OPEN).setIfAbsent(new java.util.concurrent.atomic.AtomicInteger());
                Future<HttpServer> outcome;
                try {
                    if (p.get(NAME) == null) {
                        p.addFirst(NAME, hook);
                    } else {
                        p.replace(NAME, NAME, hook);
                    }
                    outcome = Future.succeededFuture(server);
                } catch (RuntimeException e) { // a bug: fail the listen rather than hang it
                    outcome = Future.failedFuture(e);
                }
                Future<HttpServer> done = outcome;
                if (context == null) {
                    installed.handle(done);
                } else {
                    context.runOnContext(v -> installed.handle(done));
                }
            });
        } catch (java.util.concurrent.RejectedExecutionException e) {
            return Future.failedFuture(new IllegalStateException("the listening socket is shutting down", e));
        }
        return installed.future();
    }

    /**
     * The connection handler's first check, on every listener: a connection that did not go through the hook (accepted
     * between the bind and the install) skipped the PROXY trust check, the listener cap and the {@code client_header}
     * deadline, so it is closed unanswered; the client retries. Returns whether the connection may be served.
     */
    static boolean admit(HttpConnection conn) {
        if (conn instanceof ConnectionBase base && hooked(base.channel())) {
            return true;
        }
        conn.close();
        return false;
    }

    /**
     * The request's connection went through the hook. Checked per request too: on an h2c listener Vert.x has read the
     * first request head before the connection handler closes such a connection, and that request must not reach an
     * origin either.
     */
    static boolean hooked(io.vertx.core.http.HttpServerRequest req) {
        Channel ch = ProxyProtocol.channel(req);
        return ch != null && hooked(ch);
    }

    /** The child went through the hook (false only for a connection accepted before it was installed). */
    static boolean hooked(Channel ch) {
        return Boolean.TRUE.equals(ch.attr(HOOKED).get());
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (msg instanceof Channel child) {
            if (proxyProtocol != null && !proxyProtocol.trusts(ProxyProtocol.peerIp(child))) {
                RefusalLog.untrusted(ProxyProtocol.peerIp(child));
                child.unsafe().closeForcibly(); // never registered, never read: what Netty does with a child it can't set up
                return;
            }
            java.util.concurrent.atomic.AtomicInteger open = ctx.channel().attr(OPEN).get();
            if (open.incrementAndGet() > maxConnections && maxConnections > 0) {
                // listener max_connections: closed at accept, as HAProxy's maxconn refuses (never read, no response)
                open.decrementAndGet();
                onRefused.run();
                child.unsafe().closeForcibly();
                return;
            }
            child.closeFuture().addListener(f -> open.decrementAndGet());
            child.attr(HOOKED).set(Boolean.TRUE);
            child.pipeline().addFirst(QuietReset.NAME, QuietReset.INSTANCE);
            ConnectionGuard.opened(child, clientHeader.get());
            if (proxyProtocol != null) {
                child.pipeline().addFirst(ProxyProtocol.NAME, new ProxyProtocol.Decoder());
            }
        }
        ctx.fireChannelRead(msg);
    }

    private static Channel serverChannel(HttpServer server) throws ReflectiveOperationException {
        HttpServerInternal http = ((HttpServerInternal) server).unwrap();
        return io.tiergate.shared.runtime.Runtimes.listeningChannel(
                ((io.vertx.core.http.impl.tcp.TcpHttpServer) http).tcpServer());
    }
}
