package io.tiergate.shared.runtime;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.vertx.core.Vertx;
import io.vertx.core.net.NetServer;
import java.io.OutputStream;
import java.net.Socket;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The clock an event loop keeps per wake-up: readings inside one pass are shared (that is the saving), and no reading
 * is ever older than the wake-up that led to it: not after idling, not in a timer, not off the loop. Every bound here
 * is an order of events, never a duration, so a loaded machine cannot fail it.
 */
class LoopClockTest {
    private Vertx vertx;

    @BeforeEach
    void start() {
        assumeTrue(System.getProperty("os.name").startsWith("Linux") && System.getProperty("os.arch").equals("amd64"),
                "the loop clock rides on epoll, whose native library ships for Linux x86-64 only");
        vertx = Runtimes.vertx();
        assertThat(vertx.isNativeTransportEnabled()).as("still epoll underneath").isTrue();
        assertThat(Runtimes.describe(vertx)).isEqualTo("I/O transport: epoll (Netty native)");
    }

    @AfterEach
    void stop() throws Exception {
        if (vertx != null) {
            vertx.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
        }
    }

    /** What a read handler saw: whether the pass was clocked, two readings 2 ms of busy work apart, and the OS's. */
    record Seen(boolean cached, long first, long second, long os, long millis, long osMillis) {
    }

    @Test
    void readingsInOnePassAreSharedAndNeverOlderThanTheDataThatWokeTheLoop() throws Exception {
        CompletableFuture<Seen> seen = new CompletableFuture<>();
        int port = listen(seen);
        try (Socket s = new Socket("127.0.0.1", port)) {
            Thread.sleep(300); // the loop idles in epoll_wait first: a clock kept from before would be 300 ms old
            long sent = System.nanoTime();
            long sentMillis = System.currentTimeMillis();
            OutputStream out = s.getOutputStream();
            out.write('x');
            out.flush();
            Seen r = seen.get(10, TimeUnit.SECONDS);
            assertThat(r.cached()).as("a pass that woke for I/O is clocked").isTrue();
            assertThat(r.first()).as("not older than the byte that woke the loop").isGreaterThanOrEqualTo(sent);
            assertThat(r.second()).as("the same reading for the rest of the pass").isEqualTo(r.first());
            assertThat(r.os()).as("while the OS clock moved on").isGreaterThan(r.first());
            assertThat(r.millis()).isGreaterThanOrEqualTo(sentMillis).isLessThanOrEqualTo(r.osMillis());
        }
    }

    @Test
    void aTimerAfterIdlingReadsTheTimeItFiredAtNotTheTimeItWasSet() throws Exception {
        CompletableFuture<long[]> fired = new CompletableFuture<>();
        vertx.runOnContext(v -> {
            long set = LoopClock.nanoTime();
            vertx.setTimer(300, t -> fired.complete(new long[] {set, LoopClock.nanoTime()}));
        });
        long[] r = fired.get(10, TimeUnit.SECONDS);
        assertThat(r[1] - r[0]).as("a timer cannot fire before its delay: its reading is at least 300 ms later")
                .isGreaterThanOrEqualTo(TimeUnit.MILLISECONDS.toNanos(300));
    }

    @Test
    void offTheLoopEveryReadingIsTheOsClock() throws Exception {
        assertThat(LoopClock.cached()).isFalse();
        long a = LoopClock.nanoTime();
        Thread.sleep(2);
        assertThat(LoopClock.nanoTime()).isGreaterThan(a);
        CompletableFuture<Boolean> onWorker = new CompletableFuture<>();
        vertx.executeBlocking(() -> LoopClock.cached()).onComplete(ar -> onWorker.complete(ar.result()));
        assertThat(onWorker.get(10, TimeUnit.SECONDS)).as("a worker thread is not a clocked loop").isFalse();
    }

    @Test
    void theSwitchTurnsItOff() throws Exception {
        System.setProperty(Runtimes.LOOP_CLOCK_PROPERTY, "off");
        Vertx plain = Runtimes.vertx();
        try {
            assertThat(plain.isNativeTransportEnabled()).isTrue();
            CompletableFuture<Seen> seen = new CompletableFuture<>();
            int port = listen(plain, seen);
            try (Socket s = new Socket("127.0.0.1", port)) {
                s.getOutputStream().write('x');
                Seen r = seen.get(10, TimeUnit.SECONDS);
                assertThat(r.cached()).isFalse();
                assertThat(r.second()).as("each reading asks the OS").isGreaterThan(r.first());
            }
        } finally {
            System.clearProperty(Runtimes.LOOP_CLOCK_PROPERTY);
            plain.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
        }
    }

    private int listen(CompletableFuture<Seen> seen) throws Exception {
        return listen(vertx, seen);
    }

    private static int listen(Vertx vertx, CompletableFuture<Seen> seen) throws Exception {
        NetServer server = vertx.createNetServer().connectHandler(so -> so.handler(buf -> {
            boolean cached = LoopClock.cached();
            long first = LoopClock.nanoTime();
            long millis = LoopClock.currentTimeMillis();
            long until = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(2);
            while (System.nanoTime() < until) {
                Thread.onSpinWait();
            }
            seen.complete(new Seen(cached, first, LoopClock.nanoTime(), System.nanoTime(), millis,
                    System.currentTimeMillis()));
        }));
        return server.listen(0, "127.0.0.1").toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS)
                .actualPort();
    }
}
