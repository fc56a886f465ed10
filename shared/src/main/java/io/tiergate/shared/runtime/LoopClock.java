package io.tiergate.shared.runtime;

import io.netty.channel.IoHandle;
import io.netty.channel.IoHandler;
import io.netty.channel.IoHandlerContext;
import io.netty.channel.IoHandlerFactory;
import io.netty.channel.IoRegistration;
import io.netty.util.concurrent.FastThreadLocal;
import io.netty.util.concurrent.ThreadAwareExecutor;

/**
 * The time as of the event loop's last wake-up, as nginx keeps it ({@code ngx_current_msec}): the first reading after
 * a wake-up that found I/O asks the OS, every later one in that pass gets the same value. A proxied request read the
 * clock ~17 times (timeouts, deadlines, the upstream's response time, metrics, the keep-alive timer), ~20 ns each,
 * 2 % of its CPU.
 *
 * <p>Precision: a value is at most one loop pass old, which is the time the loop spent on the I/O it woke for (under
 * load ~1 ms; longer only if a handler blocks the loop, which is a bug of its own). Timeouts and deadlines of seconds
 * do not notice; a duration measured inside one pass (a cache hit answered at once) reads 0, as nginx's
 * {@code $request_time} reads 0.000.
 *
 * <p>Where no loop pass is current — a thread that is not a clocked event loop (workers, tests, NIO), or a pass that
 * woke only for timers or tasks — both methods read the OS clock each time, so nothing scheduled ever sees an old
 * value. Loops are clocked by {@link #handlers(IoHandlerFactory)}, which {@link Runtimes} puts around epoll's.
 */
public final class LoopClock {
    private static final FastThreadLocal<Tick> TICK = new FastThreadLocal<>();

    private LoopClock() {
    }

    /** {@link System#nanoTime()}, as of this loop pass. */
    public static long nanoTime() {
        Tick t = current();
        if (t == null) {
            return System.nanoTime();
        }
        if (!t.haveNanos) {
            t.nanos = System.nanoTime();
            t.haveNanos = true;
        }
        return t.nanos;
    }

    /** {@link System#currentTimeMillis()}, as of this loop pass. */
    public static long currentTimeMillis() {
        Tick t = current();
        if (t == null) {
            return System.currentTimeMillis();
        }
        if (!t.haveMillis) {
            t.millis = System.currentTimeMillis();
            t.haveMillis = true;
        }
        return t.millis;
    }

    /** True when the calling thread is inside a clocked loop pass (readings are shared until the next wake-up). */
    public static boolean cached() {
        return current() != null;
    }

    private static Tick current() {
        Tick t = TICK.getIfExists();
        return t != null && t.inPass ? t : null;
    }

    /** Wraps an I/O handler factory so that every loop it makes keeps a clock. */
    public static IoHandlerFactory handlers(IoHandlerFactory epoll) {
        return new IoHandlerFactory() {
            @Override
            public IoHandler newHandler(ThreadAwareExecutor executor) {
                return new Clocked(epoll.newHandler(executor));
            }

            @Override
            public boolean isChangingThreadSupported() {
                return epoll.isChangingThreadSupported();
            }
        };
    }

    /** One loop thread's readings; only that thread touches it. */
    private static final class Tick {
        boolean inPass;
        boolean haveNanos;
        boolean haveMillis;
        long nanos;
        long millis;

        void woke() {
            haveNanos = false;
            haveMillis = false;
            inPass = true;
        }
    }

    /**
     * The loop's handler with a hook after its wait. Netty's epoll handler asks its context
     * {@code shouldReportActiveIoTime()} once per pass, after {@code epoll_wait} returned ready events and before it
     * dispatches them: that is where a pass begins. A pass that found no ready event (a timer or task wake-up) is not
     * marked, so its readings go to the OS. {@code LoopClockTest} fails if a Netty upgrade moves the call.
     */
    private static final class Clocked implements IoHandler {
        private final IoHandler delegate;
        private final Tick tick = new Tick();
        private IoHandlerContext last;
        private IoHandlerContext hooked;

        Clocked(IoHandler delegate) {
            this.delegate = delegate;
        }

        @Override
        public void initialize() {
            delegate.initialize();
        }

        @Override
        public int run(IoHandlerContext context) {
            if (TICK.getIfExists() != tick) {
                TICK.set(tick); // run() is called on the loop's own thread
            }
            tick.inPass = false;
            if (context != last) {
                last = context;
                hooked = new Hooked(context, tick);
            }
            return delegate.run(hooked);
        }

        @Override
        public void prepareToDestroy() {
            delegate.prepareToDestroy();
        }

        @Override
        public void destroy() {
            delegate.destroy();
        }

        @Override
        public IoRegistration register(IoHandle handle) throws Exception {
            return delegate.register(handle);
        }

        @Override
        public void wakeup() {
            delegate.wakeup();
        }

        @Override
        public boolean isCompatible(Class<? extends IoHandle> handleType) {
            return delegate.isCompatible(handleType);
        }
    }

    private record Hooked(IoHandlerContext delegate, Tick tick) implements IoHandlerContext {
        @Override
        public boolean canBlock() {
            return delegate.canBlock();
        }

        @Override
        public long delayNanos(long currentTimeNanos) {
            return delegate.delayNanos(currentTimeNanos);
        }

        @Override
        public long deadlineNanos() {
            return delegate.deadlineNanos();
        }

        @Override
        public void reportActiveIoTime(long activeNanos) {
            delegate.reportActiveIoTime(activeNanos);
        }

        @Override
        public boolean shouldReportActiveIoTime() {
            tick.woke();
            return delegate.shouldReportActiveIoTime();
        }
    }
}
