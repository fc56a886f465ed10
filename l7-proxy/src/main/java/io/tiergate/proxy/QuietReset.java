package io.tiergate.proxy;

import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;

/**
 * First in every accepted connection's pipeline: an I/O error of the socket itself (a client that resets its
 * connection, as browsers and phones do all the time, or a write to a peer that is gone) closes the connection
 * quietly. Vert.x would log each as an ERROR line ("Connection reset") when no exception handler is set yet, and on
 * an h2c listener it sets none before the first request head. A request under way ends as one whose client went
 * away, in the access log. Errors raised by handlers further in (TLS, codecs) do not pass here and are Vert.x's.
 */
@ChannelHandler.Sharable
final class QuietReset extends ChannelInboundHandlerAdapter {
    static final String NAME = "tiergateQuietReset";
    static final QuietReset INSTANCE = new QuietReset();
    private static final Logger LOG = LoggerFactory.getLogger(QuietReset.class);

    private QuietReset() {
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        if (cause instanceof IOException) {
            LOG.debug("client connection {}: {}", ctx.channel().remoteAddress(), cause.toString());
            ctx.close();
        } else {
            ctx.fireExceptionCaught(cause);
        }
    }
}
