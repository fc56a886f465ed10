package io.tiergate.proxy;

import io.netty.channel.Channel;
import io.netty.channel.ChannelDuplexHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelPipeline;
import io.netty.channel.ChannelPromise;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.util.concurrent.ScheduledFuture;
import io.vertx.core.http.HttpConnection;

import java.time.Duration;
import java.util.concurrent.TimeUnit;

/**
 * Slowloris defence Vert.x does not give us: a connection must deliver a complete request head within
 * {@code client_header} of opening, and the next one within {@code keepalive} of the previous response; otherwise
 * it is closed. (Vert.x's idle timeout alone is reset by every trickled byte.)
 *
 * <p>It is a Netty handler placed right after Vert.x's HTTP/1.x codec, so it sees a request head only once it is
 * complete and responses before they are encoded, and it runs on the connection's own event loop: no locks, no cross-thread wake-ups per request (an
 * earlier version kept its timers on a separate context and cost two selector wake-ups per request). After a
 * WebSocket upgrade (101) it removes itself: a WebSocket's lifetime is not a keep-alive wait.
 */
final class ConnectionGuard extends ChannelDuplexHandler {
    static final String NAME = "tiergateConnectionGuard";

    private final long headerNanos;
    private final long keepaliveNanos;
    private ScheduledFuture<?> timer;
    private long timerAt;   // System.nanoTime() the pending timer fires at
    private long deadline;  // System.nanoTime() by which the client must have sent a complete head; 0: none
    private int heads;      // request heads read
    private int responses;  // responses completely written

    private ConnectionGuard(Duration clientHeader, Duration keepalive) {
        this.headerNanos = clientHeader.toNanos();
        this.keepaliveNanos = keepalive.toNanos();
    }

    /**
     * Installs the guard on a new HTTP/1.x connection. Returns false when the connection is not one this guard
     * understands (e.g. HTTP/2), which then relies on Vert.x's idle timeout.
     */
    static boolean install(HttpConnection conn, Duration clientHeader, Duration keepalive) {
        // Vert.x 5 exposes the Netty channel only on its implementation class. With h2c upgrade enabled Vert.x creates
        // the connection only after the first request head, too late for this guard: the listener disables h2c.
        if (!(conn instanceof io.vertx.core.net.impl.ConnectionBase base)) {
            return false;
        }
        Channel ch = base.channel();
        ChannelPipeline p = ch.pipeline();
        if (p.get("httpEncoder") == null || p.get(NAME) != null) {
            return false;
        }
        p.addAfter("httpEncoder", NAME, new ConnectionGuard(clientHeader, keepalive));
        return true;
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        arm(ctx, headerNanos);
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
        if (msg instanceof HttpRequest) {
            heads++;
            deadline = 0;
        }
        super.channelRead(ctx, msg);
    }

    @Override
    public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) throws Exception {
        boolean upgraded = msg instanceof HttpResponse r
                && r.status().code() == HttpResponseStatus.SWITCHING_PROTOCOLS.code();
        boolean ended = msg instanceof LastHttpContent;
        super.write(ctx, msg, promise);
        if (upgraded) {
            cancel();
            ctx.pipeline().remove(this);
            return;
        }
        if (ended && ++responses >= heads) {
            arm(ctx, keepaliveNanos);
        }
    }

    /**
     * Sets the deadline. The timer is lazy: a request head only clears the deadline and a response only moves it, so
     * a busy keep-alive connection does not cancel and re-schedule a timer per request (that queue work was a few
     * per cent of a proxied request). When the timer fires early it re-arms for what is left.
     */
    private void arm(ChannelHandlerContext ctx, long nanos) {
        long now = System.nanoTime();
        deadline = now + nanos;
        if (timer != null && timerAt - deadline > 0) { // pending, but fires after the new, earlier deadline
            cancel();
        }
        if (timer == null) {
            schedule(ctx, now, deadline);
        }
    }

    private void schedule(ChannelHandlerContext ctx, long now, long at) {
        timerAt = at;
        timer = ctx.executor().schedule(() -> fire(ctx), at - now, TimeUnit.NANOSECONDS);
    }

    private void fire(ChannelHandlerContext ctx) {
        timer = null;
        if (deadline == 0 || responses < heads) {
            return; // a request is in flight: no client wait to bound; the next response sets a new deadline
        }
        long now = System.nanoTime();
        if (now - deadline < 0) {
            schedule(ctx, now, deadline);
            return;
        }
        ctx.close(); // from here, not the tail: Vert.x's handler would wait for the half-read request
    }

    private void cancel() {
        if (timer != null) {
            timer.cancel(false);
            timer = null;
        }
    }
}
