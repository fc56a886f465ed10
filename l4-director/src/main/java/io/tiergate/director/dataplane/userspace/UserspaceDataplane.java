package io.tiergate.director.dataplane.userspace;

import io.tiergate.director.dataplane.Changeset;
import io.tiergate.director.dataplane.Dataplane;
import io.tiergate.director.dataplane.DataplaneException;
import io.tiergate.director.dataplane.DataplaneKind;
import io.tiergate.director.dataplane.DataplaneService;
import io.tiergate.director.dataplane.Destination;
import io.tiergate.director.dataplane.DestinationCounters;
import io.tiergate.director.model.Protocol;
import io.tiergate.director.model.ServiceKey;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.datagram.DatagramSocket;
import io.vertx.core.datagram.DatagramSocketOptions;
import io.vertx.core.internal.VertxInternal;
import io.vertx.core.net.SocketAddress;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

/**
 * A full proxy in the JVM (like HAProxy's TCP mode) for hosts where the kernel cannot be programmed: no root, macOS,
 * the laptop demo. Each service is a listener on VIP:port; every new connection (or UDP client) gets a backend from
 * the service's scheduler and is spliced to it on the event loop ({@link TcpRelay}), with optional PROXY protocol v2
 * so real servers still learn the client address.
 *
 * <p>A service changed by the engine keeps its listener and its open connections: only the backend list and the
 * scheduler are swapped. Forwarding methods do not apply (everything is proxied); a {@code dr} service is served the
 * same way, which is what lets the same config run on a laptop.
 */
public final class UserspaceDataplane implements Dataplane {
    private static final Logger log = LoggerFactory.getLogger(UserspaceDataplane.class);

    private final Vertx vertx;
    private final Duration connectTimeout;
    private final Duration udpIdleTimeout;
    private final Map<ServiceKey, Listener> listeners = new ConcurrentHashMap<>();

    public UserspaceDataplane(Vertx vertx, Duration connectTimeout, Duration udpIdleTimeout) {
        this.vertx = vertx;
        this.udpIdleTimeout = udpIdleTimeout;
        this.connectTimeout = connectTimeout;
    }

    @Override
    public DataplaneKind kind() {
        return DataplaneKind.USERSPACE;
    }

    @Override
    public Map<ServiceKey, String> read() {
        Map<ServiceKey, String> out = new LinkedHashMap<>();
        listeners.forEach((k, l) -> out.put(k, l.service.fingerprint()));
        return out;
    }

    /** The port a service really listens on (differs from the VIP port when that was 0, in tests). */
    public int boundPort(ServiceKey key) {
        Listener l = listeners.get(key);
        return l == null ? -1 : l.boundPort;
    }

    /** A TCP service's listening socket, or null (tests look at how it accepts). */
    io.netty.channel.Channel listening(ServiceKey key) {
        return listeners.get(key) instanceof TcpListener t ? t.relay.listening() : null;
    }

    @Override
    public void apply(Changeset changes) throws DataplaneException {
        for (ServiceKey k : changes.deletes()) {
            Listener l = listeners.remove(k);
            if (l != null) {
                l.close();
            }
        }
        List<Listener> started = new ArrayList<>();
        List<String> failures = new ArrayList<>();
        for (DataplaneService s : changes.upserts()) {
            Listener existing = listeners.get(s.key());
            if (existing != null) {
                existing.update(s);
                continue;
            }
            if (s.key().byFwmark()) {
                failures.add(s.key() + ": the userspace dataplane cannot serve fwmark services (needs ipvs or nft)");
                continue;
            }
            try {
                Listener l = s.key().protocol() == Protocol.TCP ? new TcpListener(s) : new UdpListener(s);
                l.start();
                started.add(l);
                listeners.put(s.key(), l);
            } catch (Exception e) {
                String why = e.getCause() != null ? e.getCause().getMessage() : e.getMessage();
                failures.add("cannot listen on " + s.key() + ": " + why
                        + " (is the VIP an address of this host? is the port free?)");
            }
        }
        if (!failures.isEmpty()) {
            throw new DataplaneException(String.join("; ", failures));
        }
        if (!started.isEmpty()) {
            log.info("userspace: listening on {}", started.stream().map(l -> l.service.key() + " (port " + l.boundPort + ")").toList());
        }
    }

    @Override
    public Map<ServiceKey, Map<String, DestinationCounters>> counters() {
        Map<ServiceKey, Map<String, DestinationCounters>> out = new HashMap<>();
        listeners.forEach((k, l) -> {
            Map<String, DestinationCounters> m = new LinkedHashMap<>();
            for (Backend b : l.picker.backends()) {
                m.put(b.id, new DestinationCounters(b.active.get(), 0, b.connections.get(), b.packetsIn.get(),
                        b.packetsOut.get(), b.bytesIn.get(), b.bytesOut.get()));
            }
            out.put(k, m);
        });
        return out;
    }

    @Override
    public void close() {
        // A userspace proxy cannot outlive its process: closing is the only honest option here.
        listeners.values().forEach(Listener::close);
        listeners.clear();
    }

    private static <T> T await(Future<T> f) throws Exception {
        return f.toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    }

    private abstract class Listener {
        volatile DataplaneService service;
        volatile Picker picker;
        int boundPort;

        Listener(DataplaneService s) {
            this.service = s;
            this.picker = new Picker(s.scheduler(), backendsFor(s, Map.of()), s.persistence(), null);
        }

        abstract void start() throws Exception;

        abstract void close();

        void update(DataplaneService s) {
            Map<String, Backend> old = new HashMap<>();
            for (Backend b : picker.backends()) {
                old.put(b.id, b);
            }
            boolean sameRules = s.scheduler() == service.scheduler() && s.persistence().equals(service.persistence());
            this.picker = new Picker(s.scheduler(), backendsFor(s, old), s.persistence(), sameRules ? picker : null);
            this.service = s;
        }

        private List<Backend> backendsFor(DataplaneService s, Map<String, Backend> old) {
            List<Backend> out = new ArrayList<>();
            for (Destination d : s.destinations()) {
                Backend b = old.get(d.id());
                if (b == null) {
                    b = new Backend(d.id(), d.address(), d.port(), d.weight());
                } else {
                    b.weight = d.weight();
                }
                out.add(b);
            }
            return out;
        }
    }

    private final class TcpListener extends Listener implements TcpRelay.Routing {
        private TcpRelay relay;

        TcpListener(DataplaneService s) {
            super(s);
        }

        @Override
        void start() throws Exception {
            relay = new TcpRelay((VertxInternal) vertx, connectTimeout, this);
            boundPort = relay.bind(service.key().vip(), service.key().port());
        }

        @Override
        public Picker picker() {
            return picker;
        }

        @Override
        public boolean proxyProtocol() {
            return service.proxyProtocol();
        }

        @Override
        void close() {
            if (relay != null) {
                relay.close();
            }
        }
    }

    /** One socket per client session toward its backend; sessions expire after {@code udp_idle_timeout}. */
    private final class UdpListener extends Listener {
        private DatagramSocket socket;
        private final Map<String, Session> sessions = new ConcurrentHashMap<>();
        private long sweepTimer = -1;

        private final class Session {
            final SocketAddress clientAddress;
            final Backend backend;
            final DatagramSocket upstream;
            volatile long lastNanos = System.nanoTime();

            Session(SocketAddress clientAddress, Backend backend, DatagramSocket upstream) {
                this.clientAddress = clientAddress;
                this.backend = backend;
                this.upstream = upstream;
            }
        }

        UdpListener(DataplaneService s) {
            super(s);
        }

        @Override
        void start() throws Exception {
            socket = vertx.createDatagramSocket(new DatagramSocketOptions().setReuseAddress(true));
            socket.handler(packet -> onPacket(packet.sender(), packet.data()));
            await(socket.listen(service.key().port(), service.key().vip()));
            boundPort = socket.localAddress().port();
            long every = Math.max(100, udpIdleTimeout.toMillis() / 4);
            sweepTimer = vertx.setPeriodic(every, id -> sweep());
        }

        private void onPacket(SocketAddress from, Buffer data) {
            String key = from.host() + ":" + from.port();
            Session s = sessions.get(key);
            if (s == null || s.backend.weight == 0 && !picker.backends().contains(s.backend)) {
                Backend b = picker.pick(inet(from), Set.of());
                if (b == null) {
                    return;
                }
                DatagramSocket up = vertx.createDatagramSocket(new DatagramSocketOptions());
                Session ns = new Session(from, b, up);
                up.handler(reply -> {
                    ns.lastNanos = System.nanoTime();
                    b.bytesOut.addAndGet(reply.data().length());
                    b.packetsOut.incrementAndGet();
                    socket.send(reply.data(), ns.clientAddress.port(), ns.clientAddress.host());
                });
                up.listen(0, b.address.indexOf(':') >= 0 ? "::" : "0.0.0.0");
                sessions.put(key, ns);
                b.active.incrementAndGet();
                b.connections.incrementAndGet();
                s = ns;
            }
            s.lastNanos = System.nanoTime();
            s.backend.bytesIn.addAndGet(data.length());
            s.backend.packetsIn.incrementAndGet();
            s.upstream.send(data, s.backend.port, s.backend.address);
        }

        private void sweep() {
            long limit = System.nanoTime() - udpIdleTimeout.toNanos();
            sessions.entrySet().removeIf(e -> {
                if (e.getValue().lastNanos < limit) {
                    e.getValue().upstream.close();
                    e.getValue().backend.active.decrementAndGet();
                    return true;
                }
                return false;
            });
        }

        @Override
        void close() {
            if (sweepTimer >= 0) {
                vertx.cancelTimer(sweepTimer);
            }
            sessions.values().forEach(s -> s.upstream.close());
            sessions.clear();
            if (socket != null) {
                socket.close();
            }
        }
    }

    private static InetSocketAddress inet(SocketAddress a) {
        return new InetSocketAddress(a.hostAddress(), a.port());
    }
}
