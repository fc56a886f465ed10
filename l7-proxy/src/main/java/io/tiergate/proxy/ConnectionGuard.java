package io.tiergate.proxy;

import io.netty.channel.Channel;
import io.netty.channel.ChannelDuplexHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelOutboundBuffer;
import io.netty.channel.ChannelPipeline;
import io.netty.channel.ChannelPromise;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.handler.codec.http2.Http2Connection;
import io.netty.handler.codec.http2.Http2ConnectionAdapter;
import io.netty.handler.codec.http2.Http2ConnectionHandler;
import io.netty.handler.codec.http2.Http2Stream;
import io.netty.handler.ssl.SslHandler;
import io.netty.handler.timeout.IdleStateHandler;
import io.netty.util.concurrent.ScheduledFuture;
import io.tiergate.shared.runtime.LoopClock;
import io.vertx.core.http.HttpConnection;

import java.time.Duration;
import java.util.concurrent.TimeUnit;

/**
 * Slowloris defence Vert.x does not give us: a connection must deliver a complete request head within
 * {@code client_header} of being accepted, and the next one within {@code keepalive} of the previous response; otherwise
 * it is closed. (Vert.x's idle timeout alone is reset by every trickled byte.) And its mirror, a slow reader: a
 * response that waits for a client taking none of it for {@code client_send} closes the connection (nginx's
 * send_timeout; checked only when a flush left bytes the socket did not take, against the outbound buffer's progress).
 *
 * <p>Two phases. From accept, {@link Opening} (put at the head of the pipeline by {@link AcceptHook}, before Vert.x
 * has set anything up) holds the {@code client_header} deadline: it covers a PROXY header, a TLS handshake, the h2c
 * preface detection and, on an h2c listener, the whole first request head, because there Vert.x creates the
 * HttpConnection only once that head is complete. When the connection handler runs, {@link #install} removes
 * {@code Opening} and takes over:
 * <ul>
 * <li>HTTP/1.x: this class, a Netty handler placed right after Vert.x's HTTP/1.x codec, so it sees a request head only
 * once it is complete and responses before they are encoded. It runs on the connection's own event loop: no locks, no
 * cross-thread wake-ups per request (an earlier version kept its timers on a separate context and cost two selector
 * wake-ups per request). After a WebSocket upgrade (101) it removes itself: a WebSocket's lifetime is not a keep-alive
 * wait.</li>
 * <li>HTTP/2 (h2 by ALPN, h2c): {@link Http2Idle} closes (GOAWAY) a connection that has had no open stream for
 * {@code keepalive}, however many PINGs or SETTINGS it sends.</li>
 * </ul>
 */
final class ConnectionGuard extends ChannelDuplexHandler {
    static final String NAME = "tiergateConnectionGuard";
    private static final String VERTX_IDLE = "idle"; // Vert.x's name for its IdleStateHandler
    private static final String CHUNKED_WRITER = "chunkedWriter"; // ... and for its ChunkedWriteHandler

    private final long headerNanos;
    private final long keepaliveNanos;
    private final long sendNanos;
    private long idleBackstopMillis; // Vert.x's idle timeout, taken out at install, put back for an upgraded connection
    private long stallAt;         // LoopClock.nanoTime() by which the client must take some waiting output; 0: none waits
    private long stallPending;    // the outbound buffer's pending bytes then, and the content bytes written since:
    private long stallAdded;      // less pending than the two together means the client took some
    private Object stallMessage;  // what was first in the outbound buffer then, and how much of it had been written
    private long stallProgress;   // (file regions count for nothing in the pending bytes)
    private final WebSocketExtensions webSocketExtensions; // null: Vert.x's extension handler is left alone
    private boolean extensionsIn; // an extension handler may be in the pipeline: taken out once nothing is in flight
    private ScheduledFuture<?> timer;
    private long timerAt;   // LoopClock.nanoTime() the pending timer fires at
    private long deadline;  // LoopClock.nanoTime() by which the client must have sent a complete head; 0: none
    private int heads;      // request heads read
    private int responses;  // responses completely written
    private boolean dropping; // a head came after the last response (ClosingConnection): it and its body are dropped

    private ConnectionGuard(long headerNanos, Duration keepalive, Duration send, int headsAlreadyRead,
                            WebSocketExtensions webSocketExtensions) {
        this.headerNanos = headerNanos;
        this.keepaliveNanos = keepalive.toNanos();
        this.sendNanos = send.toNanos();
        this.heads = headsAlreadyRead;
        this.webSocketExtensions = webSocketExtensions;
        this.extensionsIn = webSocketExtensions != null;
    }

    /**
     * Called by {@link AcceptHook} on a just-accepted channel, before Vert.x initialises it: arms the
     * {@code client_header} deadline.
     */
    static void opened(Channel ch, Duration clientHeader) {
        ch.pipeline().addFirst(Opening.NAME, new Opening(LoopClock.nanoTime() + clientHeader.toNanos()));
    }

    /**
     * Takes over from {@link Opening} when Vert.x hands us the HttpConnection. {@code headAlreadyRead}: the connection
     * was created by reading its first request head (HTTP/1.x on an h2c listener), so that head needs no timer and
     * counts as in flight. On HTTP/1.x, Vert.x's WebSocket extension handler is taken out and, when
     * {@code webSocketExtensions} is given, put back for a request that asks for an upgrade (see
     * {@link WebSocketExtensions}), and so is Vert.x's idle timeout: {@code client_send} bounds a response the client
     * stops taking, and every other wait of a request has its own timeout; an upgraded connection gets the idle
     * timeout back. Returns false when the connection is neither HTTP/1.x nor HTTP/2 over a Netty
     * channel (it then relies on Vert.x's idle timeout).
     */
    static boolean install(HttpConnection conn, Duration clientHeader, Duration keepalive, Duration clientSend,
                           boolean headAlreadyRead, WebSocketExtensions webSocketExtensions) {
        // Vert.x 5 exposes the Netty channel only on its implementation class.
        if (!(conn instanceof io.vertx.core.net.impl.ConnectionBase base)) {
            return false;
        }
        Channel ch = base.channel();
        ChannelPipeline p = ch.pipeline();
        Opening opening = p.get(Opening.class);
        long headerNanos = clientHeader.toNanos();
        if (opening != null) {
            headerNanos = opening.remainingNanos();
            p.remove(opening);
        }
        if (p.get(NAME) != null) {
            return false;
        }
        if (p.get("httpEncoder") != null) {
            ConnectionGuard guard = new ConnectionGuard(headerNanos, keepalive, clientSend, headAlreadyRead ? 1 : 0,
                    webSocketExtensions);
            // Vert.x's idle timeout costs a promise and a listener for every write, and a timer per connection.
            if (p.get(VERTX_IDLE) instanceof IdleStateHandler idle) {
                guard.idleBackstopMillis = idle.getAllIdleTimeInMillis();
                p.remove(VERTX_IDLE);
            }
            // Vert.x's ChunkedWriteHandler is only needed to send a file in chunks: over TLS, or through Vert.x's own
            // compressor (which Tiergate does not use). On a plain connection a file goes out as a FileRegion
            // (sendfile), and the handler is one more stop for every write and flush of every response.
            if (p.get(CHUNKED_WRITER) != null && p.get(SslHandler.class) == null && p.get("deflater") == null) {
                p.remove(CHUNKED_WRITER);
            }
            p.addAfter("httpEncoder", NAME, guard);
            return true;
        }
        Http2ConnectionHandler h2 = p.get(Http2ConnectionHandler.class);
        if (h2 != null) {
            Http2Idle.watch(ch, h2.connection(), keepalive);
            return true;
        }
        return false;
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        if (heads == 0) {
            arm(ctx, headerNanos);
            takeOutExtensions(ctx);
        }
    }

    /**
     * The WebSocket extension handler out of the pipeline, when no request is past this handler unanswered (so none
     * is in the middle of its handshake there). Until then, on an h2c listener, the first request already went by.
     */
    private void takeOutExtensions(ChannelHandlerContext ctx) {
        if (extensionsIn) {
            extensionsIn = false;
            WebSocketExtensions.takeOut(ctx.pipeline());
        }
    }

    @Override
    public void handlerRemoved(ChannelHandlerContext ctx) {
        cancel();
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) throws Exception {
        cancel();
        super.channelInactive(ctx);
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) throws Exception {
        if (dropping || (msg instanceof HttpRequest && ClosingConnection.marked(ctx.channel()))) {
            dropping = true;
            io.netty.util.ReferenceCountUtil.release(msg);
            return;
        }
        if (msg instanceof HttpRequest r) {
            heads++;
            deadline = 0;
            if (webSocketExtensions != null && r.headers().contains(io.netty.handler.codec.http.HttpHeaderNames.UPGRADE)) {
                webSocketExtensions.putBack(ctx.pipeline());
                extensionsIn = true;
            }
        }
        super.channelRead(ctx, msg);
    }

    @Override
    public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) throws Exception {
        boolean upgraded = msg instanceof HttpResponse r
                && r.status().code() == HttpResponseStatus.SWITCHING_PROTOCOLS.code();
        boolean ended = msg instanceof LastHttpContent;
        boolean last = !upgraded && (ended || msg instanceof HttpResponse) && ClosingConnection.marked(ctx.channel());
        if (last && msg instanceof HttpResponse r) {
            r.headers().set(io.netty.handler.codec.http.HttpHeaderNames.CONNECTION,
                    io.netty.handler.codec.http.HttpHeaderValues.CLOSE);
        }
        if (last && ended) {
            promise = promise.unvoid();
            promise.addListener(io.netty.channel.ChannelFutureListener.CLOSE);
        }
        if (stallAt != 0 && msg instanceof io.netty.buffer.ByteBufHolder h) {
            stallAdded += h.content().readableBytes();
        }
        if (!last && !upgraded && msg instanceof FullHttpResponse && !promise.isVoid() && ctx.channel().isActive()) {
            // A whole response in one message (a cache hit, the proxy's own answer, a small proxied one): nothing
            // waits for its write but the future Vert.x's end() returns, which Tiergate never reads. With the channel's
            // void promise the encoder writes head and body without a PromiseCombiner and a promise per buffer; a
            // failed write still closes the connection (QuietReset takes the I/O error). Not a 101: a WebSocket
            // handshake changes the pipeline when its write completes.
            super.write(ctx, msg, ctx.voidPromise());
            promise.trySuccess();
        } else {
            super.write(ctx, msg, promise);
        }
        if (upgraded) {
            cancel();
            if (idleBackstopMillis > 0) { // a WebSocket (or h2c) lives on: Vert.x's idle timeout bounds it, as before
                ctx.pipeline().addAfter(ctx.name(), VERTX_IDLE,
                        new IdleStateHandler(0, 0, idleBackstopMillis, TimeUnit.MILLISECONDS));
            }
            ctx.pipeline().remove(this);
            return;
        }
        if (ended && ++responses >= heads) {
            arm(ctx, keepaliveNanos);
            takeOutExtensions(ctx); // the response went through it already: outbound, it sits before this handler
        }
    }

    /** After a flush the socket did not take whole, the client has {@code client_send} to take some of the rest. */
    @Override
    public void flush(ChannelHandlerContext ctx) {
        ctx.flush();
        if (stallAt == 0) {
            ChannelOutboundBuffer out = ctx.channel().unsafe().outboundBuffer();
            if (out != null && (out.totalPendingWriteBytes() > 0 || out.current() != null)) {
                long now = LoopClock.nanoTime();
                watchOutput(out, now);
                fireBy(ctx, now, stallAt);
            }
        }
    }

    private void watchOutput(ChannelOutboundBuffer out, long now) {
        stallPending = out.totalPendingWriteBytes();
        stallAdded = 0;
        stallMessage = out.current();
        stallProgress = out.currentProgress();
        stallAt = now + sendNanos;
    }

    /**
     * Sets the deadline. The timer is lazy: a request head only clears the deadline and a response only moves it, so
     * a busy keep-alive connection does not cancel and re-schedule a timer per request (that queue work was a few
     * per cent of a proxied request). When the timer fires early it re-arms for what is left.
     */
    private void arm(ChannelHandlerContext ctx, long nanos) {
        long now = LoopClock.nanoTime();
        deadline = now + nanos;
        fireBy(ctx, now, deadline);
    }

    /** The one timer fires by {@code at}: a pending one that fires later is replaced. */
    private void fireBy(ChannelHandlerContext ctx, long now, long at) {
        if (timer != null && timerAt - at > 0) {
            cancel();
        }
        if (timer == null) {
            schedule(ctx, now, earliest(deadline, stallAt));
        }
    }

    /** The earlier of two LoopClock.nanoTime() deadlines, 0 standing for none. */
    private static long earliest(long a, long b) {
        return a == 0 || b != 0 && b - a < 0 ? b : a;
    }

    private void schedule(ChannelHandlerContext ctx, long now, long at) {
        timerAt = at;
        timer = ctx.executor().schedule(() -> fire(ctx), at - now, TimeUnit.NANOSECONDS);
    }

    private void fire(ChannelHandlerContext ctx) {
        timer = null;
        long now = LoopClock.nanoTime();
        if (stallAt != 0 && now - stallAt >= 0) {
            ChannelOutboundBuffer out = ctx.channel().unsafe().outboundBuffer();
            if (out == null || out.current() == null) {
                stallAt = 0; // all taken
                stallMessage = null;
            } else if (out.totalPendingWriteBytes() < stallPending + stallAdded || out.current() != stallMessage
                    || out.currentProgress() != stallProgress) {
                // Some taken: another client_send for the rest. (The byte count is what tells: buffers are
                // recycled, so the first message may be another one in the same object, at the same progress.)
                watchOutput(out, now);
            } else {
                ctx.close(); // nginx's send_timeout: the client took nothing of what waits for it
                return;
            }
        }
        boolean waiting = deadline != 0 && responses >= heads; // else a request is in flight: no client wait to bound
        if (waiting && now - deadline >= 0) {
            ctx.close(); // from here, not the tail: Vert.x's handler would wait for the half-read request
            return;
        }
        long at = earliest(waiting ? deadline : 0, stallAt);
        if (at != 0) {
            schedule(ctx, now, at);
        }
    }

    private void cancel() {
        if (timer != null) {
            timer.cancel(false);
            timer = null;
        }
    }

    /**
     * The {@code client_header} deadline from accept until Vert.x creates the HttpConnection. Passes everything
     * through; when the deadline passes first, the channel is closed.
     */
    static final class Opening extends ChannelInboundHandlerAdapter {
        static final String NAME = "tiergateOpening";
        private final long deadline; // LoopClock.nanoTime() by which the first request head must be complete
        private ScheduledFuture<?> timer;

        private Opening(long deadline) {
            this.deadline = deadline;
        }

        long remainingNanos() {
            return Math.max(0, deadline - LoopClock.nanoTime());
        }

        @Override
        public void handlerAdded(ChannelHandlerContext ctx) {
            // Runs when the channel registers with its event loop, before its first read.
            timer = ctx.executor().schedule(() -> {
                timer = null;
                ctx.channel().close();
            }, remainingNanos(), TimeUnit.NANOSECONDS);
        }

        @Override
        public void handlerRemoved(ChannelHandlerContext ctx) {
            if (timer != null) {
                timer.cancel(false);
                timer = null;
            }
        }
    }

    /**
     * Keep-alive for an HTTP/2 connection: armed whenever it has no active stream (from the start, and each time its
     * last stream closes), cancelled when a stream opens. Netty's HTTP/2 connection calls these listeners on the
     * channel's event loop. Closing goes through Netty's HTTP/2 handler, which sends GOAWAY.
     */
    static final class Http2Idle extends Http2ConnectionAdapter {
        private final Channel ch;
        private final Http2Connection connection;
        private final long keepaliveNanos;
        private ScheduledFuture<?> timer;

        private Http2Idle(Channel ch, Http2Connection connection, Duration keepalive) {
            this.ch = ch;
            this.connection = connection;
            this.keepaliveNanos = keepalive.toNanos();
        }

        static void watch(Channel ch, Http2Connection connection, Duration keepalive) {
            Http2Idle idle = new Http2Idle(ch, connection, keepalive);
            connection.addListener(idle);
            ch.eventLoop().execute(() -> {
                if (connection.numActiveStreams() == 0) {
                    idle.arm();
                }
            });
            ch.closeFuture().addListener(f -> idle.cancel());
        }

        @Override
        public void onStreamActive(Http2Stream stream) {
            cancel();
        }

        @Override
        public void onStreamClosed(Http2Stream stream) {
            if (connection.numActiveStreams() == 0) {
                arm();
            }
        }

        private void arm() {
            cancel();
            if (ch.isActive()) {
                timer = ch.eventLoop().schedule(() -> {
                    timer = null;
                    if (connection.numActiveStreams() == 0) {
                        ch.close();
                    }
                }, keepaliveNanos, TimeUnit.NANOSECONDS);
            }
        }

        private void cancel() {
            if (timer != null) {
                timer.cancel(false);
                timer = null;
            }
        }
    }
}
