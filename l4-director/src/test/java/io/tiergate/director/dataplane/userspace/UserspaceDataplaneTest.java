package io.tiergate.director.dataplane.userspace;

import io.tiergate.director.dataplane.Changeset;
import io.tiergate.director.dataplane.DataplaneService;
import io.tiergate.director.dataplane.Destination;
import io.tiergate.director.dataplane.DestinationCounters;
import io.tiergate.director.model.ForwardingMethod;
import io.tiergate.director.model.Persistence;
import io.tiergate.director.model.Protocol;
import io.tiergate.director.model.Scheduler;
import io.tiergate.director.model.ServiceKey;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.datagram.DatagramSocket;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.DatagramPacket;
import java.net.InetAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/** The userspace dataplane with real sockets on 127.0.0.1: no root needed. */
class UserspaceDataplaneTest {
    static Vertx vertx;
    static Backends.Named a;
    static Backends.Named b;
    static Backends.Named c;
    UserspaceDataplane dp;
    int nextPort;

    @BeforeAll
    static void backends() throws Exception {
        vertx = Vertx.vertx();
        a = Backends.start(vertx, "a");
        b = Backends.start(vertx, "b");
        c = Backends.start(vertx, "c");
    }

    @AfterAll
    static void stop() throws Exception {
        vertx.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    }

    @AfterEach
    void closeDataplane() {
        if (dp != null) {
            dp.close();
        }
    }

    DataplaneService service(Protocol p, Scheduler s, boolean pp2, Destination... dests) {
        return new DataplaneService(ServiceKey.of(p, "127.0.0.1", 0), s, ForwardingMethod.NAT, Persistence.NONE, pp2,
                List.of(dests));
    }

    int start(DataplaneService s) throws Exception {
        dp = new UserspaceDataplane(vertx, Duration.ofSeconds(2), Duration.ofSeconds(5));
        dp.apply(new Changeset(List.of(s), List.of()));
        return dp.boundPort(s.key());
    }

    static Destination d(Backends.Named n, int weight) {
        return new Destination("127.0.0.1", n.port, weight);
    }

    Map<String, Integer> spread(int port, int n) throws Exception {
        Map<String, Integer> counts = new TreeMap<>();
        for (int i = 0; i < n; i++) {
            counts.merge(Backends.ask(port), 1, Integer::sum);
        }
        return counts;
    }

    @Test
    void weightedRoundRobinFollowsWeightsExactly() throws Exception {
        int port = start(service(Protocol.TCP, Scheduler.WEIGHTED_ROUND_ROBIN, false, d(a, 1), d(b, 2), d(c, 3)));
        assertThat(spread(port, 60)).as("weights 1:2:3 over 60 connections")
                .isEqualTo(Map.of("a", 10, "b", 20, "c", 30));
        Map<String, DestinationCounters> counters = dp.counters().values().iterator().next();
        assertThat(counters.get("127.0.0.1:" + c.port).connections()).isEqualTo(30);
    }

    /**
     * The relay accepts on the first event loop of the process's Vert.x (as the director runs it). 40 connections that
     * queue up while that loop is busy (here: blocked by a task) are accepted in one go when it wakes, and each is
     * relayed: one connection per wake-up left bursts waiting for seconds behind a loop busy relaying.
     */
    @Test
    void connectionsQueuedWhileTheAcceptingLoopWasBusyAreAcceptedInOneGo() throws Exception {
        Vertx director = io.tiergate.shared.runtime.Runtimes.vertx();
        List<Socket> clients = new ArrayList<>();
        try {
            UserspaceDataplane relay = new UserspaceDataplane(director, Duration.ofSeconds(2), Duration.ofSeconds(5));
            dp = relay;
            DataplaneService s = service(Protocol.TCP, Scheduler.ROUND_ROBIN, false, d(a, 1));
            relay.apply(new Changeset(List.of(s), List.of()));
            io.netty.channel.Channel listening = relay.listening(s.key());
            io.tiergate.shared.runtime.AcceptWakeUps counter = io.tiergate.shared.runtime.AcceptWakeUps
                    .queueBehindABusyLoop(listening, relay.boundPort(s.key()), 40, clients);
            for (Socket c : clients) { // each is relayed to its server, which greets it
                c.setSoTimeout(10_000);
                assertThat(Backends.greeting(c)).isEqualTo("a");
            }
            int seen = counter.countOn(listening);
            assertThat(seen).as("wake-ups of the relay's accepting loop it took to accept 40 queued connections")
                    .isBetween(1, 2);
        } finally {
            for (Socket c : clients) {
                c.close();
            }
            dp.close();
            dp = null;
            director.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
        }
    }

    @Test
    void weightZeroGetsNoNewConnections() throws Exception {
        int port = start(service(Protocol.TCP, Scheduler.ROUND_ROBIN, false, d(a, 1), d(b, 0)));
        assertThat(spread(port, 6)).isEqualTo(Map.of("a", 6));
    }

    @Test
    void leastConnectionSendsNewConnectionsToTheIdleServer() throws Exception {
        int port = start(service(Protocol.TCP, Scheduler.LEAST_CONNECTION, false, d(a, 1), d(b, 1)));
        List<Socket> held = new ArrayList<>();
        try {
            Socket first = Backends.open(port);
            held.add(first);
            String busy = Backends.greeting(first);
            for (int i = 0; i < 3; i++) {
                Socket so = Backends.open(port);
                held.add(so);
                String who = Backends.greeting(so);
                if (i == 0) {
                    assertThat(who).as("with one connection open on %s, lc picks the other server", busy).isNotEqualTo(busy);
                }
            }
            Map<String, DestinationCounters> counters = dp.counters().values().iterator().next();
            assertThat(counters.values()).extracting(DestinationCounters::activeConnections)
                    .as("4 held connections split 2/2 by least-connection").containsExactlyInAnyOrder(2L, 2L);
        } finally {
            for (Socket s : held) {
                s.close();
            }
        }
    }

    @Test
    void sourceHashPinsAClient() throws Exception {
        int port = start(service(Protocol.TCP, Scheduler.SOURCE_HASH, false, d(a, 1), d(b, 1), d(c, 1)));
        assertThat(spread(port, 12)).as("one client address always lands on one server").hasSize(1);
    }

    @Test
    void proxyProtocolV2TellsTheRealServerTheClientAddress() throws Exception {
        Backends.Named pp = Backends.start(vertx, "pp");
        int port = start(service(Protocol.TCP, Scheduler.ROUND_ROBIN, true, d(pp, 1)));
        try (Socket so = Backends.open(port)) {
            so.getOutputStream().write("hello".getBytes(StandardCharsets.UTF_8));
            Backends.greeting(so);
            long deadline = System.nanoTime() + 2_000_000_000L;
            while (pp.firstBytes.isEmpty() && System.nanoTime() < deadline) {
                Thread.sleep(10);
            }
            Buffer h = pp.firstBytes.get(0);
            assertThat(h.getBytes(0, 12)).as("PROXY v2 signature first").isEqualTo(ProxyProtocol.SIGNATURE);
            assertThat(h.getByte(12)).isEqualTo((byte) 0x21);
            assertThat(h.getByte(13)).as("TCP over IPv4").isEqualTo((byte) 0x11);
            assertThat(h.getBytes(16, 20)).as("source = the client's address").isEqualTo(new byte[] {127, 0, 0, 1});
            assertThat(h.getUnsignedShort(24)).as("source port = the client's port").isEqualTo(so.getLocalPort());
            assertThat(h.getUnsignedShort(26)).as("destination port = the VIP port").isEqualTo(port);
        } finally {
            pp.kill();
        }
    }

    @Test
    void reconfiguringKeepsEstablishedConnections() throws Exception {
        DataplaneService s1 = service(Protocol.TCP, Scheduler.WEIGHTED_ROUND_ROBIN, false, d(a, 1));
        int port = start(s1);
        try (Socket so = Backends.open(port)) {
            BufferedReader in = new BufferedReader(new InputStreamReader(so.getInputStream(), StandardCharsets.UTF_8));
            assertThat(in.readLine()).isEqualTo("a");
            dp.apply(new Changeset(List.of(service(Protocol.TCP, Scheduler.WEIGHTED_ROUND_ROBIN, false, d(a, 0), d(b, 1))), List.of()));
            OutputStream out = so.getOutputStream();
            out.write("still here\n".getBytes(StandardCharsets.UTF_8));
            assertThat(in.readLine()).as("a drained server's established connection keeps working").isEqualTo("still here");
            assertThat(Backends.ask(port)).as("new connections go to the new weight").isEqualTo("b");
        }
    }

    @Test
    void aRefusingServerIsSkippedForNewConnections() throws Exception {
        Backends.Named dead = Backends.start(vertx, "dead");
        dead.kill();
        int port = start(service(Protocol.TCP, Scheduler.ROUND_ROBIN, false, d(dead, 1), d(a, 1)));
        assertThat(spread(port, 6)).as("a refused connect is retried on another server").isEqualTo(Map.of("a", 6));
    }

    @Test
    void udpDatagramsAreForwardedAndRepliesComeBack() throws Exception {
        DatagramSocket echo = vertx.createDatagramSocket();
        echo.handler(p -> echo.send(Buffer.buffer("echo:").appendBuffer(p.data()), p.sender().port(), p.sender().host()));
        echo.listen(0, "127.0.0.1").toCompletionStage().toCompletableFuture().get(5, TimeUnit.SECONDS);
        int echoPort = echo.localAddress().port();
        int port = start(service(Protocol.UDP, Scheduler.ROUND_ROBIN, false, new Destination("127.0.0.1", echoPort, 1)));
        try (java.net.DatagramSocket client = new java.net.DatagramSocket()) {
            client.setSoTimeout(3000);
            byte[] msg = "ping".getBytes(StandardCharsets.UTF_8);
            client.send(new DatagramPacket(msg, msg.length, InetAddress.getLoopbackAddress(), port));
            DatagramPacket reply = new DatagramPacket(new byte[100], 100);
            client.receive(reply);
            assertThat(new String(reply.getData(), 0, reply.getLength(), StandardCharsets.UTF_8)).isEqualTo("echo:ping");
        } finally {
            echo.close();
        }
        assertThat(dp.counters().values().iterator().next().get("127.0.0.1:" + echoPort).packetsIn()).isEqualTo(1);
    }

    @Test
    void aDeletedServiceStopsListening() throws Exception {
        DataplaneService s = service(Protocol.TCP, Scheduler.ROUND_ROBIN, false, d(a, 1));
        int port = start(s);
        assertThat(dp.read()).containsEntry(s.key(), s.fingerprint());
        dp.apply(new Changeset(List.of(), List.of(s.key())));
        assertThat(dp.read()).isEmpty();
        Thread.sleep(100);
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> Backends.ask(port))
                .as("the VIP no longer accepts connections").isInstanceOf(java.io.IOException.class);
    }

    @Test
    void aBulkTransferArrivesIntactBothWaysWhileTheClientReadsSlowly() throws Exception {
        int port = start(service(Protocol.TCP, Scheduler.ROUND_ROBIN, false, d(a, 1)));
        byte[] sent = new byte[8 << 20];
        new java.util.Random(14).nextBytes(sent);
        try (Socket so = Backends.open(port)) {
            assertThat(Backends.greeting(so)).isEqualTo("a");
            // the echo comes back while the client is still writing: the relay must hold back, not drop or reorder
            Thread writer = new Thread(() -> {
                try {
                    OutputStream out = so.getOutputStream();
                    for (int off = 0; off < sent.length; off += 64 << 10) {
                        out.write(sent, off, Math.min(64 << 10, sent.length - off));
                    }
                } catch (java.io.IOException e) {
                    throw new java.io.UncheckedIOException(e);
                }
            });
            writer.start();
            Thread.sleep(1000);
            byte[] got = so.getInputStream().readNBytes(sent.length);
            writer.join(10_000);
            assertThat(got.length).isEqualTo(sent.length);
            assertThat(java.util.Arrays.equals(got, sent)).as("the echoed bytes equal the sent ones, in order").isTrue();
        }
        DestinationCounters counters = dp.counters().values().iterator().next().get("127.0.0.1:" + a.port);
        assertThat(counters.bytesIn()).isEqualTo(sent.length);
        assertThat(counters.bytesOut()).isEqualTo(sent.length + 2); // "a\n" + the echo
    }

    @Test
    void closingEitherSideClosesTheOther() throws Exception {
        NetServerHolder closer = new NetServerHolder();
        int port = start(service(Protocol.TCP, Scheduler.ROUND_ROBIN, false, d(a, 1)));
        Socket first = Backends.open(port);
        assertThat(Backends.greeting(first)).isEqualTo("a");
        first.close();
        long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (dp.counters().values().iterator().next().get("127.0.0.1:" + a.port).activeConnections() > 0
                && System.nanoTime() < until) {
            Thread.sleep(20);
        }
        assertThat(dp.counters().values().iterator().next().get("127.0.0.1:" + a.port).activeConnections())
                .as("the client's close reached the real server's connection").isZero();
        dp.apply(new Changeset(List.of(service(Protocol.TCP, Scheduler.ROUND_ROBIN, false,
                new Destination("127.0.0.1", closer.port, 1))), List.of()));
        try (Socket second = Backends.open(port)) {
            java.io.InputStream in = second.getInputStream();
            assertThat(new String(in.readNBytes(4), StandardCharsets.UTF_8)).isEqualTo("bye\n");
            assertThat(in.read()).as("the real server's close reaches the client after its last bytes").isEqualTo(-1);
        } finally {
            closer.close();
        }
    }

    /** A real server that says "bye" and closes. */
    static final class NetServerHolder {
        final io.vertx.core.net.NetServer server;
        final int port;

        NetServerHolder() throws Exception {
            server = vertx.createNetServer().connectHandler(so -> so.end(Buffer.buffer("bye\n")))
                    .listen(0, "127.0.0.1").toCompletionStage().toCompletableFuture().get(5, TimeUnit.SECONDS);
            port = server.actualPort();
        }

        void close() throws Exception {
            server.close().toCompletionStage().toCompletableFuture().get(5, TimeUnit.SECONDS);
        }
    }
}
