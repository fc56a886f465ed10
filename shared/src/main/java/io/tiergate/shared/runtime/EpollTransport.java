package io.tiergate.shared.runtime;

import io.netty.bootstrap.Bootstrap;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFactory;
import io.netty.channel.IoHandlerFactory;
import io.netty.channel.ServerChannel;
import io.netty.channel.socket.DatagramChannel;
import io.netty.channel.socket.InternetProtocolFamily;
import io.vertx.core.datagram.DatagramSocketOptions;
import io.vertx.core.net.TcpConfig;
import io.vertx.core.spi.transport.Transport;

/**
 * Netty's epoll transport as Tiergate runs it: the same in everything except three things. Its event loops keep a
 * {@link LoopClock} (unless {@code -Dtiergate.loop-clock=off}); the first event loop accepts connections (unless
 * {@code -Dtiergate.acceptor=thread}); and listening sockets accept up to {@link #ACCEPTS_PER_WAKEUP} connections
 * per wake-up. Event loop groups come from the interface's default, which builds them from {@link #ioHandlerFactory()}.
 */
final class EpollTransport implements Transport {
    private final Transport delegate;
    private final boolean loopClock;

    EpollTransport(Transport delegate, boolean loopClock) {
        this.delegate = delegate;
        this.loopClock = loopClock;
    }

    /** As the public handle {@code VertxBuilder.withTransport} takes. */
    io.vertx.core.transport.Transport handle(String name) {
        Transport impl = this;
        return new io.vertx.core.transport.Transport() {
            @Override
            public String name() {
                return name;
            }

            @Override
            public boolean available() {
                return delegate.isAvailable();
            }

            @Override
            public Throwable unavailabilityCause() {
                return delegate.unavailabilityCause();
            }

            @Override
            public Transport implementation() {
                return impl;
            }
        };
    }

    private volatile io.netty.channel.EventLoopGroup loops;

    /**
     * Vert.x asks for its I/O loops, then for a one-thread group to accept connections on. The "acceptor" is the first
     * I/O loop, as nginx's workers accept on their own loop: a separate acceptor thread wakes (a context switch) for
     * nearly every new connection and then hands it to a loop across threads (another wake-up), 7–15 % of a request
     * that opens its own connection (docs/benchmarks.md, "A connection per request", "One accept per wake-up").
     * {@code -Dtiergate.acceptor=thread} keeps Vert.x's thread. When Vert.x closes, it shuts the acceptor down first,
     * then the loops: the first loop is then simply shut down with the others.
     */
    @Override
    public io.netty.channel.EventLoopGroup eventLoopGroup(int type, int nThreads,
            java.util.concurrent.ThreadFactory threadFactory, int ioRatio) {
        if (type == ACCEPTOR_EVENT_LOOP_GROUP && loops != null && !Runtimes.acceptorThread()) {
            return loops.next();
        }
        io.netty.channel.EventLoopGroup g = Transport.super.eventLoopGroup(type, nThreads, threadFactory, ioRatio);
        if (type == IO_EVENT_LOOP_GROUP) {
            loops = g;
        }
        return g;
    }

    @Override
    public IoHandlerFactory ioHandlerFactory() {
        return loopClock ? LoopClock.handlers(delegate.ioHandlerFactory()) : delegate.ioHandlerFactory();
    }

    @Override
    public boolean supportsDomainSockets() {
        return delegate.supportsDomainSockets();
    }

    @Override
    public boolean supportFileRegion() {
        return delegate.supportFileRegion();
    }

    @Override
    public boolean isAvailable() {
        return delegate.isAvailable();
    }

    @Override
    public Throwable unavailabilityCause() {
        return delegate.unavailabilityCause();
    }

    @Override
    public java.net.SocketAddress convert(io.vertx.core.net.SocketAddress address) {
        return delegate.convert(address);
    }

    @Override
    public io.vertx.core.net.SocketAddress convert(java.net.SocketAddress address) {
        return delegate.convert(address);
    }

    @Override
    public DatagramChannel datagramChannel(InternetProtocolFamily family) {
        return delegate.datagramChannel(family);
    }

    @Override
    public ChannelFactory<? extends DatagramChannel> datagramChannelFactory() {
        return delegate.datagramChannelFactory();
    }

    @Override
    public ChannelFactory<? extends Channel> channelFactory(boolean domainSocket) {
        return delegate.channelFactory(domainSocket);
    }

    @Override
    public ChannelFactory<? extends ServerChannel> serverChannelFactory(boolean domainSocket) {
        return delegate.serverChannelFactory(domainSocket);
    }

    @Override
    public void configure(DatagramChannel channel, DatagramSocketOptions options) {
        delegate.configure(channel, options);
    }

    @Override
    public void configure(TcpConfig config, boolean domainSocket, Bootstrap bootstrap) {
        delegate.configure(config, domainSocket, bootstrap);
    }

    /**
     * Connections a listening socket accepts per wake-up of its loop, at most. HAProxy takes 4 ({@code tune.maxaccept})
     * but wakes after at most 200 ready events ({@code tune.maxpollevents}); a Netty loop handles every ready socket
     * (up to 4,096) per wake-up, so it takes more per turn.
     */
    static final int ACCEPTS_PER_WAKEUP = 64;

    /**
     * How a listening socket accepts: until the queue is empty ({@code accept} says EAGAIN), at most
     * {@link #ACCEPTS_PER_WAKEUP} connections per wake-up. Netty 4.2's epoll transport, level-triggered only, otherwise
     * accepts exactly one connection per wake-up: its "more may be waiting" test compares the accepted descriptor with
     * the one byte it "attempted" to read, so it is false after every accept. Where the acceptor is a loop that also
     * serves connections (the default), one wake-up with 2,000 sockets ready takes 10–20 ms, and a burst of 1,000 new
     * connections then waited in the kernel's accept queue for seconds (docs/benchmarks.md, "One accept per wake-up").
     * The director's userspace relay binds its own listening sockets and takes this through
     * {@link Runtimes#acceptBatches()}.
     */
    static io.netty.channel.RecvByteBufAllocator acceptBatches() {
        return new io.netty.channel.ServerChannelRecvByteBufAllocator().respectMaybeMoreData(false)
                .maxMessagesPerRead(ACCEPTS_PER_WAKEUP);
    }

    /**
     * The listening socket accepts in batches ({@link #acceptBatches()}). Accepted sockets are configured as the
     * delegate does, without two system calls per accepted connection that change nothing: {@code SO_KEEPALIVE} off
     * (sockets are created with it off) and {@code TCP_NODELAY} on (Netty's epoll channel turns it on when it wraps the
     * socket; a server that wants Nagle still gets it turned off).
     */
    @Override
    public void configure(TcpConfig config, boolean domainSocket, ServerBootstrap bootstrap) {
        delegate.configure(config, domainSocket, bootstrap);
        bootstrap.option(io.netty.channel.ChannelOption.RCVBUF_ALLOCATOR, acceptBatches());
        if (!config.isSoKeepAlive()) {
            bootstrap.childOption(io.netty.channel.ChannelOption.SO_KEEPALIVE, null);
        }
        if (!domainSocket && Boolean.TRUE.equals(config.getOption(io.vertx.core.net.TcpOption.NODELAY))
                && io.netty.util.internal.PlatformDependent.canEnableTcpNoDelayByDefault()) {
            bootstrap.childOption(io.netty.channel.ChannelOption.TCP_NODELAY, null);
        }
    }
}
