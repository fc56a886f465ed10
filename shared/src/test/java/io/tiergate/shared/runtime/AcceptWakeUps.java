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

    /** Read on the listening channel's loop: the number of its wake-ups that accepted something. */
    public int countOn(io.netty.channel.Channel listening) throws Exception {
        return listening.eventLoop().submit(this::count).get(10, java.util.concurrent.TimeUnit.SECONDS);
    }

    /**
     * Puts a counter on {@code listening}, keeps its loop busy (a task that waits) while {@code n} clients connect to
     * {@code port} (the kernel completes each handshake and queues it; accepting is the loop's part), then lets the
     * loop go. The clients are added to {@code clients}, for the caller to close.
     */
    public static AcceptWakeUps queueBehindABusyLoop(io.netty.channel.Channel listening, int port, int n,
                                                     java.util.List<java.net.Socket> clients) throws Exception {
        AcceptWakeUps counter = new AcceptWakeUps();
        listening.eventLoop().submit(() -> listening.pipeline().addFirst(counter))
                .get(10, java.util.concurrent.TimeUnit.SECONDS);
        java.util.concurrent.CountDownLatch release = new java.util.concurrent.CountDownLatch(1);
        listening.eventLoop().execute(() -> {
            try {
                release.await(30, java.util.concurrent.TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
        try {
            for (int i = 0; i < n; i++) {
                clients.add(new java.net.Socket("127.0.0.1", port));
            }
        } finally {
            release.countDown();
        }
        return counter;
    }
}
