package io.tiergate.director.dataplane.userspace;

import io.netty.bootstrap.Bootstrap;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelOption;
import io.netty.channel.group.ChannelGroup;
import io.netty.channel.group.DefaultChannelGroup;
import io.netty.util.concurrent.GlobalEventExecutor;
import io.vertx.core.internal.VertxInternal;
import io.vertx.core.spi.transport.Transport;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.HashSet;
import java.util.Set;

/**
 * One TCP service of the userspace dataplane: a byte relay on raw Netty channels, the way HAProxy's {@code mode tcp}
 * works. Each client connection and its connection to the real server live on the same event loop (one of Vert.x's),
 * so relaying never crosses threads; what one side reads is written to the other without a copy, and flushed once
 * per read burst (on read-complete), not once per read. Back-pressure: a side stops reading while the other side's
 * outbound buffer is above Netty's high-water mark and resumes when it drains.
 *
 * <p>The transport is the one Vert.x chose (NIO, or epoll when its native library is on the class path).
 */
final class TcpRelay {
    private static final Logger log = LoggerFactory.getLogger(TcpRelay.class);
    private static final int CONNECT_ATTEMPTS = 3;

    /** What the relay needs from its service at each new connection; read then, so a reload applies to new ones. */
    interface Routing {
        Picker picker();

        boolean proxyProtocol();
    }

    private final VertxInternal vertx;
    private final Transport transport;
    private final int connectTimeoutMillis;
    private final Routing routing;
    /** Open client connections: deleting the service closes them (a userspace relay has no kernel state to keep). */
    private final ChannelGroup clients = new DefaultChannelGroup(GlobalEventExecutor.INSTANCE);
    private final Accept accept = new Accept();
    private Channel server;

    TcpRelay(VertxInternal vertx, Duration connectTimeout, Routing routing) {
        this.vertx = vertx;
        this.transport = vertx.transport();
        this.connectTimeoutMillis = (int) Math.min(Integer.MAX_VALUE, connectTimeout.toMillis());
        this.routing = routing;
    }

    /** Binds VIP:port; returns the port really bound (differs when {@code port} is 0). */
    int bind(String vip, int port) throws InterruptedException {
        ChannelFuture f = new ServerBootstrap()
                .group(vertx.acceptorEventLoopGroup(), vertx.nettyEventLoopGroup())
                .channelFactory(transport.serverChannelFactory(false))
                .option(ChannelOption.SO_REUSEADDR, true)
                .option(ChannelOption.SO_BACKLOG, 1024)
                // on the first event loop (the default acceptor), one accept per wake-up would leave a burst of new
                // connections waiting while the loop relays for the others
                .option(ChannelOption.RCVBUF_ALLOCATOR, io.tiergate.shared.runtime.Runtimes.acceptBatches())
                .childOption(ChannelOption.TCP_NODELAY, true)
                // nothing is read from the client before its real server is connected
                .childOption(ChannelOption.AUTO_READ, false)
                .childHandler(accept)
                .bind(new InetSocketAddress(vip, port)).await();
        if (!f.isSuccess()) {
            throw new IllegalStateException(f.cause().getMessage(), f.cause());
        }
        server = f.channel();
        return ((InetSocketAddress) server.localAddress()).getPort();
    }

    /** The listening socket (tests look at how it accepts). */
    Channel listening() {
        return server;
    }

    void close() {
        if (server != null) {
            server.close();
        }
        clients.close();
    }

    @ChannelHandler.Sharable
    private final class Accept extends ChannelInboundHandlerAdapter {
        @Override
        public void channelActive(ChannelHandlerContext ctx) {
            clients.add(ctx.channel());
            connect(ctx.channel(), new HashSet<>(), routing.picker(), routing.proxyProtocol());
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            ctx.close();
        }
    }

    private void connect(Channel in, Set<Backend> tried, Picker picker, boolean pp2) {
        InetSocketAddress client = (InetSocketAddress) in.remoteAddress();
        Backend b = tried.size() >= CONNECT_ATTEMPTS || client == null ? null : picker.pick(client, tried);
        if (b == null) {
            in.close();
            return;
        }
        Pipe toClient = new Pipe(in, b, false);
        new Bootstrap().group(in.eventLoop())
                .channelFactory(transport.channelFactory(false))
                .option(ChannelOption.TCP_NODELAY, true)
                .option(ChannelOption.AUTO_READ, false)
                .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, connectTimeoutMillis)
                .handler(toClient)
                .connect(new InetSocketAddress(b.address, b.port))
                .addListener((ChannelFuture f) -> {
                    if (!f.isSuccess()) {
                        // Like HAProxy's redispatch: the health check has not noticed yet, another server may answer.
                        tried.add(b);
                        log.debug("userspace: {} refused ({}), trying another", b.id, f.cause().getMessage());
                        if (in.isActive()) {
                            connect(in, tried, picker, pp2);
                        }
                        return;
                    }
                    Channel out = f.channel();
                    if (!in.isActive()) {
                        out.close();
                        return;
                    }
                    b.active.incrementAndGet();
                    b.connections.incrementAndGet();
                    out.closeFuture().addListener(c -> b.active.decrementAndGet());
                    if (pp2) {
                        out.write(Unpooled.wrappedBuffer(ProxyProtocol.v2(client,
                                (InetSocketAddress) in.localAddress()).getBytes()), out.voidPromise());
                    }
                    in.pipeline().replace(accept, "relay", new Pipe(out, b, true));
                    in.config().setAutoRead(true);
                    out.config().setAutoRead(true);
                    out.flush();
                });
    }

    /** Relays what its channel reads to {@code peer}; one per direction. */
    private static final class Pipe extends ChannelInboundHandlerAdapter {
        private final Channel peer;
        private final Backend backend;
        private final boolean inbound;
        /** Counted on the event loop during a read burst, published to the shared counters once per burst. */
        private long bytes;
        private long reads;

        Pipe(Channel peer, Backend backend, boolean inbound) {
            this.peer = peer;
            this.backend = backend;
            this.inbound = inbound;
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            if (msg instanceof ByteBuf buf) {
                bytes += buf.readableBytes();
                reads++;
            }
            // no flush here: the read burst may hold more, channelReadComplete flushes them together
            peer.write(msg, peer.voidPromise());
        }

        @Override
        public void channelReadComplete(ChannelHandlerContext ctx) {
            peer.flush();
            if (!peer.isWritable()) {
                ctx.channel().config().setAutoRead(false);
            }
            if (reads > 0) {
                (inbound ? backend.bytesIn : backend.bytesOut).addAndGet(bytes);
                (inbound ? backend.packetsIn : backend.packetsOut).addAndGet(reads);
                bytes = 0;
                reads = 0;
            }
        }

        @Override
        public void channelWritabilityChanged(ChannelHandlerContext ctx) {
            // this channel is the one the peer writes into: once it drained, the peer may read again
            if (ctx.channel().isWritable()) {
                peer.config().setAutoRead(true);
            }
            ctx.fireChannelWritabilityChanged();
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            // what was already relayed still reaches the peer, then the peer is closed too
            if (peer.isActive()) {
                peer.writeAndFlush(Unpooled.EMPTY_BUFFER).addListener(ChannelFutureListener.CLOSE);
            }
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            ctx.close();
        }
    }
}
