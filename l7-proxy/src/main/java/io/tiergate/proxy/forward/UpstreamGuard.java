package io.tiergate.proxy.forward;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelDuplexHandler;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelPipeline;
import io.netty.channel.ChannelPromise;
import io.netty.channel.CombinedChannelDuplexHandler;
import io.netty.handler.codec.ByteToMessageDecoder;
import io.netty.handler.codec.http.HttpObject;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.util.ReferenceCountUtil;
import io.vertx.core.http.HttpConnection;
import io.vertx.core.net.impl.ConnectionBase;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.reflect.Method;

/**
 * Sits on every HTTP/1.1 upstream connection between Netty's decoder and Vert.x, for what Vert.x's client gets wrong
 * with a misbehaving origin:
 * <ul>
 *   <li>A 1xx other than 100, 101 and 103 (102 Processing, or one not yet defined) is interim, not final (RFC 9110
 *   §15.2): Vert.x would take it as the response and the real one would arrive with no request waiting for it. It is
 *   dropped here, with the empty end the decoder appends to every 1xx.</li>
 *   <li>Anything decoded while no request is waiting — bytes beyond a Content-Length, garbage after a chunked end, a
 *   second "response" — means the framing is lost (RFC 9112 §6.3): the connection is closed on the spot, so it can
 *   never be leased again and its leftovers never reach another request (response splitting, pool poisoning).</li>
 * </ul>
 * Extra bytes that arrive in the same read as the end of a response and form no whole line stay buffered in Netty's
 * decoder, where nothing would see them until the next request's answer arrived behind them. So at the end of each
 * response the decoder's buffer is looked at (its accessor is protected, hence reflection): anything left closes the
 * connection. Should a Netty upgrade remove that accessor, the check degrades to the next request failing on that
 * connection and being re-sent on a fresh one (Exchange's reused-connection rule), and a warning says so.
 */
final class UpstreamGuard extends ChannelDuplexHandler {
    static final String NAME = "tiergate-upstream-guard";

    private static final Logger LOG = LoggerFactory.getLogger(UpstreamGuard.class);
    // Method handles, not Method.invoke: this runs at the end of every response, and static final handles inline.
    private static final MethodHandle INBOUND = accessible(CombinedChannelDuplexHandler.class, "inboundHandler");
    private static final MethodHandle BUFFERED = accessible(ByteToMessageDecoder.class, "internalBuffer");

    private int waiting; // requests written whose final response has not ended yet
    private boolean interim; // the next LastHttpContent ends a 1xx, not the final response
    private boolean dropInterim; // ... and that 1xx was dropped, so its end is dropped too
    private volatile Runnable onInterim; // the waiting exchange's sign of life, until its final response begins

    /** Installs the guard on a new upstream connection (a no-op for connections that are not HTTP/1.x). */
    static void install(HttpConnection c) {
        if (c instanceof ConnectionBase cb) {
            install(cb.channel().pipeline());
        }
    }

    /** Installs the guard on a pipeline with a "codec" (HTTP/1.x client codec) and a "handler" after it. */
    static UpstreamGuard install(ChannelPipeline p) {
        if (p.get("codec") != null && p.get(NAME) == null && p.get("handler") != null) {
            UpstreamGuard guard = new UpstreamGuard();
            p.addBefore("handler", NAME, guard);
            p.addBefore("codec", NAME + "-bytes", guard.new Unsolicited());
            return guard;
        }
        return null;
    }

    /**
     * Runs {@code r} for every interim response dropped on {@code c} until the final response of the request just
     * sent begins: a 102 is the origin saying it is alive, so the exchange restarts its {@code upstream_read} timer.
     */
    static void onInterim(HttpConnection c, Runnable r) {
        if (c instanceof ConnectionBase cb && cb.channel().pipeline().get(NAME) instanceof UpstreamGuard g) {
            g.onInterim = r;
        }
    }

    /** As above, with the guard {@link #install} returned (no pipeline lookup per request). */
    void onInterim(Runnable r) {
        onInterim = r;
    }

    /**
     * Before the decoder: bytes that arrive while no request waits (even a partial line the decoder would sit on)
     * close the connection at once.
     */
    private final class Unsolicited extends ChannelInboundHandlerAdapter {
        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) throws Exception {
            if (waiting == 0 && msg instanceof ByteBuf b && b.isReadable() && ctx.pipeline().get("codec") != null) {
                b.release();
                ctx.close();
                return;
            }
            super.channelRead(ctx, msg);
        }
    }

    @Override
    public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) throws Exception {
        if (msg instanceof HttpRequest) {
            waiting++;
        }
        super.write(ctx, msg, promise);
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) throws Exception {
        if (!(msg instanceof HttpObject)) {
            super.channelRead(ctx, msg); // after an upgrade the codec is gone: raw bytes belong to the tunnel
            return;
        }
        if (waiting == 0) {
            ReferenceCountUtil.release(msg);
            ctx.close(); // unsolicited: whatever it is, this connection's framing can no longer be trusted
            return;
        }
        if (msg instanceof HttpResponse r) {
            int code = r.status().code();
            interim = code >= 100 && code < 200 && code != 101;
            dropInterim = interim && code != 100 && code != 103;
            Runnable alive = onInterim;
            if (!interim) {
                onInterim = null; // never call into an exchange that has its final response
            }
            if (dropInterim) {
                ReferenceCountUtil.release(msg);
                if (alive != null) {
                    alive.run();
                }
                return;
            }
        }
        if (msg instanceof LastHttpContent) {
            boolean drop = interim && dropInterim;
            if (interim) {
                interim = false;
                dropInterim = false;
            } else if (--waiting == 0 && buffered(ctx.pipeline()) > 0) {
                // Closed before Vert.x sees the end: the connection goes back to the pool already closed, so no
                // request can be written on it and the client's response still completes normally.
                ctx.close();
            }
            if (drop) {
                ReferenceCountUtil.release(msg);
                return;
            }
        }
        super.channelRead(ctx, msg);
    }

    /** Bytes read from the origin that the decoder holds but has not turned into a message yet. */
    private static int buffered(ChannelPipeline p) {
        ChannelHandler codec = p.get("codec");
        if (INBOUND == null || BUFFERED == null || !(codec instanceof CombinedChannelDuplexHandler)) {
            return 0;
        }
        try {
            Object decoder = (Object) INBOUND.invoke((CombinedChannelDuplexHandler<?, ?>) codec);
            return decoder instanceof ByteToMessageDecoder d ? ((ByteBuf) BUFFERED.invoke(d)).readableBytes() : 0;
        } catch (Error e) {
            throw e;
        } catch (Throwable e) {
            return 0; // as when the accessor is missing: the next request on the connection catches the leftover
        }
    }

    private static MethodHandle accessible(Class<?> owner, String name) {
        try {
            Method m = owner.getDeclaredMethod(name);
            m.setAccessible(true);
            return MethodHandles.lookup().unreflect(m);
        } catch (ReflectiveOperationException | RuntimeException e) {
            LOG.warn("cannot reach Netty's " + owner.getSimpleName() + "." + name
                    + " (" + e + "): bytes an origin sends beyond a response are then caught one request later");
            return null;
        }
    }
}
