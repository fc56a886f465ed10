package io.tiergate.shared.runtime;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.vertx.core.Vertx;
import io.vertx.core.net.NetServer;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** The shipped processes run on Netty's native epoll transport on Linux x86-64, and NIO when told to. */
class RuntimesTest {

    private static void assumeEpoll() {
        assumeTrue(System.getProperty("os.name").startsWith("Linux") && System.getProperty("os.arch").equals("amd64"),
                "epoll's native library ships for Linux x86-64 only");
    }

    @Test
    void linuxRunsOnEpollAndCarriesBytes() throws Exception {
        assumeEpoll();
        Vertx vertx = Runtimes.vertx();
        try {
            assertThat(vertx.isNativeTransportEnabled())
                    .as("native transport (cause if not: %s)", vertx.unavailableNativeTransportCause()).isTrue();
            assertThat(Runtimes.describe(vertx)).isEqualTo("I/O transport: epoll (Netty native)");
            assertThat(echo(vertx, "over epoll")).isEqualTo("over epoll");
        } finally {
            vertx.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
        }
    }

    @Test
    void theSwitchForcesNio() throws Exception {
        System.setProperty(Runtimes.TRANSPORT_PROPERTY, "nio");
        Vertx vertx = Runtimes.vertx();
        try {
            assertThat(vertx.isNativeTransportEnabled()).isFalse();
            assertThat(Runtimes.describe(vertx)).isEqualTo("I/O transport: NIO (-Dtiergate.transport=nio)");
            assertThat(echo(vertx, "over nio")).isEqualTo("over nio");
        } finally {
            System.clearProperty(Runtimes.TRANSPORT_PROPERTY);
            vertx.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
        }
    }

    @Test
    void oneEventLoopPerCpuAsNginxWorkersAndHaproxyThreads() throws Exception {
        Vertx vertx = Runtimes.vertx();
        try {
            int loops = 0;
            for (var ignored : ((io.vertx.core.internal.VertxInternal) vertx).nettyEventLoopGroup()) {
                loops++;
            }
            // Vert.x's own default is twice as many: two loops then take turns on each CPU
            assertThat(loops).isEqualTo(Runtime.getRuntime().availableProcessors()).isEqualTo(Runtimes.eventLoops());
        } finally {
            vertx.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
        }
    }

    @Test
    void connectionsAreAcceptedOnTheFirstLoopUnlessAThreadIsAskedFor() throws Exception {
        assumeEpoll();
        for (boolean ownThread : new boolean[] {false, true}) {
            if (ownThread) {
                System.setProperty(Runtimes.ACCEPTOR_PROPERTY, "thread");
            }
            Vertx vertx = Runtimes.vertx();
            try {
                io.vertx.core.internal.VertxInternal v = (io.vertx.core.internal.VertxInternal) vertx;
                java.util.Set<Object> loops = new java.util.HashSet<>();
                v.nettyEventLoopGroup().forEach(loops::add);
                assertThat(loops.contains(v.acceptorEventLoopGroup().next()))
                        .as("the acceptor is one of the I/O loops (-D%s=%s)", Runtimes.ACCEPTOR_PROPERTY,
                                ownThread ? "thread" : "loop").isEqualTo(!ownThread);
                assertThat(echo(vertx, "accepted")).isEqualTo("accepted");
                String acceptsOn = v.acceptorEventLoopGroup().next().submit(() -> Thread.currentThread().getName())
                        .get(10, TimeUnit.SECONDS);
                assertThat(acceptsOn).startsWith(ownThread ? "vert.x-acceptor-thread" : "vert.x-eventloop-thread");
            } finally {
                System.clearProperty(Runtimes.ACCEPTOR_PROPERTY);
                vertx.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
            }
        }
    }

    /**
     * 40 connections queue up while the accepting loop is busy (here: blocked by a task); when it wakes, it takes them
     * in one go, not one per wake-up. Netty 4.2's epoll transport accepted exactly one per wake-up: a loop that also
     * serves 1,000 busy connections wakes every 10-20 ms, and a burst of new connections waited seconds in the kernel.
     */
    @Test
    void connectionsQueuedWhileTheAcceptorWasBusyAreAcceptedInOneGo() throws Exception {
        assumeEpoll();
        // the loop clock's switch must not take the batches (or the acceptor's place) with it
        for (String[] run : new String[][] {{"loop", "on"}, {"thread", "on"}, {"loop", "off"}}) {
            String acceptor = run[0];
            System.setProperty(Runtimes.ACCEPTOR_PROPERTY, acceptor);
            System.setProperty(Runtimes.LOOP_CLOCK_PROPERTY, run[1]);
            Vertx vertx = Runtimes.vertx();
            List<Socket> clients = new java.util.ArrayList<>();
            try {
                java.util.concurrent.atomic.AtomicInteger served = new java.util.concurrent.atomic.AtomicInteger();
                NetServer server = vertx.createNetServer().connectHandler(s -> served.incrementAndGet())
                        .listen(0, "127.0.0.1").toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
                io.netty.channel.Channel listening =
                        Runtimes.listeningChannel((io.vertx.core.internal.net.NetServerInternal) server);
                AcceptWakeUps counter = AcceptWakeUps.queueBehindABusyLoop(listening, server.actualPort(), 40, clients);
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
                while (served.get() < 40 && System.nanoTime() < deadline) {
                    Thread.sleep(10);
                }
                assertThat(served.get()).as("connections served (-D%s=%s)", Runtimes.ACCEPTOR_PROPERTY, acceptor)
                        .isEqualTo(40);
                int wakeUps = counter.countOn(listening);
                assertThat(wakeUps)
                        .as("wake-ups of the accepting loop it took to accept 40 queued connections (-D%s=%s -D%s=%s)",
                                Runtimes.ACCEPTOR_PROPERTY, acceptor, Runtimes.LOOP_CLOCK_PROPERTY, run[1])
                        .isBetween(1, 2);
                String acceptsOn = listening.eventLoop().submit(() -> Thread.currentThread().getName())
                        .get(10, TimeUnit.SECONDS);
                assertThat(acceptsOn).as("the accepting thread (-D%s=%s)", Runtimes.ACCEPTOR_PROPERTY, acceptor)
                        .startsWith(acceptor.equals("thread") ? "vert.x-acceptor-thread" : "vert.x-eventloop-thread");
                server.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
            } finally {
                for (Socket c : clients) {
                    c.close();
                }
                System.clearProperty(Runtimes.ACCEPTOR_PROPERTY);
                System.clearProperty(Runtimes.LOOP_CLOCK_PROPERTY);
                vertx.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
            }
        }
    }

    @Test
    void acceptedSocketsHaveTheNagleAndKeepAliveSettingsTheServerAskedFor() throws Exception {
        assumeEpoll();
        Vertx vertx = Runtimes.vertx();
        try {
            // SO_KEEPALIVE off is no longer set on each accepted socket (it is off already): on must still be on
            for (boolean noDelay : new boolean[] {true, false}) {
                for (boolean keepAlive : new boolean[] {false, true}) {
                    assertThat(acceptedOptions(vertx, new io.vertx.core.net.NetServerOptions().setTcpNoDelay(noDelay)
                            .setTcpKeepAlive(keepAlive)))
                            .as("accepted socket of a server with TCP_NODELAY %s, SO_KEEPALIVE %s", noDelay, keepAlive)
                            .isEqualTo(List.of(noDelay, keepAlive));
                }
            }
        } finally {
            vertx.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
        }
    }

    /** TCP_NODELAY and SO_KEEPALIVE as the kernel has them on the server's side of an accepted connection. */
    private static List<Boolean> acceptedOptions(Vertx vertx, io.vertx.core.net.NetServerOptions options)
            throws Exception {
        java.util.concurrent.CompletableFuture<List<Boolean>> seen = new java.util.concurrent.CompletableFuture<>();
        NetServer server = vertx.createNetServer(options).connectHandler(s -> {
            io.netty.channel.ChannelConfig c = ((io.vertx.core.net.impl.ConnectionBase) s).channel().config();
            seen.complete(List.of(c.getOption(io.netty.channel.ChannelOption.TCP_NODELAY),
                    c.getOption(io.netty.channel.ChannelOption.SO_KEEPALIVE)));
        }).listen(0, "127.0.0.1").toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
        try (Socket socket = new Socket("127.0.0.1", server.actualPort())) {
            return seen.get(10, TimeUnit.SECONDS);
        } finally {
            server.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
        }
    }

    /** A real TCP round trip through the transport: a blocking client against an echo server on the Vert.x loop. */
    private static String echo(Vertx vertx, String text) throws Exception {
        NetServer server = vertx.createNetServer().connectHandler(s -> s.handler(s::write))
                .listen(0, "127.0.0.1").toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
        try (Socket socket = new Socket("127.0.0.1", server.actualPort())) {
            socket.setSoTimeout(10_000);
            socket.getOutputStream().write(text.getBytes(StandardCharsets.US_ASCII));
            return new String(socket.getInputStream().readNBytes(text.length()), StandardCharsets.US_ASCII);
        }
    }
}
