package io.tiergate.shared.runtime;

import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;

/**
 * The Vert.x instance a Tiergate process runs on. Its I/O transport is Netty's native epoll where the native library
 * loads (Linux x86-64), NIO elsewhere; {@code -Dtiergate.transport=nio} forces NIO (for comparison, or if the native
 * library misbehaves on a platform).
 */
public final class Runtimes {
    public static final String TRANSPORT_PROPERTY = "tiergate.transport";
    /** {@code -Dtiergate.loop-clock=off}: every reading of the time asks the OS (for comparison). */
    public static final String LOOP_CLOCK_PROPERTY = "tiergate.loop-clock";

    private Runtimes() {
    }

    public static Vertx vertx() {
        io.vertx.core.transport.Transport epoll = io.vertx.core.transport.Transport.EPOLL;
        if (forcedNio() || epoll == null || !epoll.available()) {
            return Vertx.vertx(options());
        }
        // epoll, with loops that read the clock once per wake-up (LoopClock) unless told not to
        boolean loopClock = !"off".equalsIgnoreCase(System.getProperty(LOOP_CLOCK_PROPERTY, "on"));
        return Vertx.builder().with(options())
                .withTransport(new EpollTransport(epoll.implementation(), loopClock).handle(epoll.name())).build();
    }

    /**
     * One event loop per CPU the JVM may use (its affinity mask or container quota; {@code -XX:ActiveProcessorCount=N}
     * sets it), as nginx's {@code worker_processes auto} and HAProxy's {@code nbthread}. Vert.x's default is two per
     * CPU: the proxy only serves on one per CPU anyway, but the director's userspace relay spreads its connections over
     * the whole group, and two loops taking turns on one CPU each wake for half the work.
     */
    public static int eventLoops() {
        return Math.max(1, Runtime.getRuntime().availableProcessors());
    }

    private static VertxOptions options() {
        return new VertxOptions().setPreferNativeTransport(!forcedNio()).setEventLoopPoolSize(eventLoops());
    }

    /** The one start-up line that says which transport runs, and why not epoll when it does not. */
    public static String describe(Vertx vertx) {
        if (vertx.isNativeTransportEnabled()) {
            return "I/O transport: epoll (Netty native)";
        }
        if (forcedNio()) {
            return "I/O transport: NIO (-D" + TRANSPORT_PROPERTY + "=nio)";
        }
        Throwable why = vertx.unavailableNativeTransportCause();
        return "I/O transport: NIO, epoll unavailable (" + (why == null ? "not on the class path" : why) + ")";
    }

    /**
     * Where new connections are accepted (epoll only): on the first event loop (the default, as nginx's workers accept
     * on their own loop: ~7–15 % less CPU for a request that opens its own connection), or with
     * {@code -Dtiergate.acceptor=thread} on a thread of their own (Vert.x's default). Either accepts up to 64 queued
     * connections per wake-up ({@link EpollTransport#acceptBatches}); before that, the loop accepted one per wake-up
     * and a burst of 1,000 new connections waited seconds (docs/benchmarks.md, "One accept per wake-up").
     */
    public static final String ACCEPTOR_PROPERTY = "tiergate.acceptor";

    /**
     * For a listening socket Tiergate binds with its own {@code ServerBootstrap} (the director's userspace relay), as
     * its {@code RCVBUF_ALLOCATOR}: up to 64 connections accepted per wake-up, as every Vert.x server of both tiers
     * (see {@link #ACCEPTOR_PROPERTY}). Without it, a listening socket on an event loop accepts one per wake-up.
     */
    public static io.netty.channel.RecvByteBufAllocator acceptBatches() {
        return EpollTransport.acceptBatches();
    }

    /**
     * The listening socket behind a bound Vert.x server. Vert.x 5 has no public way to it: this follows two private
     * fields ({@code NetServerImpl.resource}, {@code TcpServer.bindFuture}) and throws if a Vert.x upgrade renamed
     * them or the server is not bound. The proxy's accept hook sits on it; tests look at how it accepts.
     */
    public static io.netty.channel.Channel listeningChannel(io.vertx.core.internal.net.NetServerInternal server)
            throws ReflectiveOperationException {
        Object resource = field(server, "resource");
        @SuppressWarnings("unchecked")
        io.vertx.core.Future<io.netty.channel.Channel> bound = (io.vertx.core.Future<io.netty.channel.Channel>)
                field(((io.vertx.core.internal.CloseableResource<?>) resource).get(), "bindFuture");
        io.netty.channel.Channel ch = bound.result();
        if (ch == null) {
            throw new IllegalStateException("the listening channel is not bound");
        }
        return ch;
    }

    private static Object field(Object target, String name) throws ReflectiveOperationException {
        for (Class<?> c = target.getClass(); c != null; c = c.getSuperclass()) {
            try {
                java.lang.reflect.Field f = c.getDeclaredField(name);
                f.setAccessible(true);
                return f.get(target);
            } catch (NoSuchFieldException e) {
                // look in the superclass
            }
        }
        throw new NoSuchFieldException(target.getClass().getName() + "." + name);
    }

    static boolean acceptorThread() {
        return "thread".equalsIgnoreCase(System.getProperty(ACCEPTOR_PROPERTY, "loop"));
    }

    private static boolean forcedNio() {
        return "nio".equalsIgnoreCase(System.getProperty(TRANSPORT_PROPERTY, "auto"));
    }
}
