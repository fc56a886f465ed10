package io.tiergate.shared.runtime;

import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;

/**
 * For tests, on a listening channel: accepted connections arrive there as reads, and each wake-up of the accepting
 * loop that read something ends in a read-complete. Counts those wake-ups. Read it on the channel's event loop.
 */
public final class AcceptWakeUps extends ChannelInboundHandlerAdapter {
    private int readsSinceComplete;
    private int wakeUps;

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        readsSinceComplete++;
        ctx.fireChannelRead(msg);
    }

    @Override
    public void channelReadComplete(ChannelHandlerContext ctx) {
        if (readsSinceComplete > 0) {
            wakeUps++;
            readsSinceComplete = 0;
        }
        ctx.fireChannelReadComplete();
    }

    /** Wake-ups that accepted at least one connection so far. */
    public int count() {
        return wakeUps;
    }
}
