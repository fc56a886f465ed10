package io.tiergate.director.ha;

import io.tiergate.director.ha.internal.LibC;
import jnr.ffi.Memory;
import jnr.ffi.Pointer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.NetworkInterface;
import java.net.SocketException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;

/**
 * One running VRRPv3 instance: a dedicated platform thread (SCHED_FIFO when allowed) blocks in {@code poll} on the
 * raw socket with the state machine's next deadline as timeout, and does all advert sending and receiving itself.
 * It allocates nothing per advert, so neither a busy event loop nor allocation-driven GC stands between two
 * adverts. Becoming master adds the VIPs (long-lived {@code ip -batch}) and sends the first gratuitous ARP on that
 * thread; repeated ARPs, notify commands and listeners run on a second thread so a slow hook can't delay adverts.
 *
 * <p>Thread-safe: {@link #setTrackedHealth}, {@link #reconfigure} and {@link #stop} only post to the advert thread
 * and wake it.
 */
public final class VrrpInstance implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(VrrpInstance.class);

    private volatile VrrpConfig config; // replaced by the advert thread only (reconfigure)
    private final VipManager vips;
    private final List<VrrpRoleListener> listeners = new CopyOnWriteArrayList<>();
    private final int primary;
    private final int ifindex;
    private final byte[] mac;
    private volatile int[] vipInts;     // replaced whole with config
    private final int[] destinations;
    private final int[] peers;
    private final VrrpStateMachine machine;
    private final ScheduledExecutorService notifier;

    private VrrpSocket socket;          // used by the advert thread (set before it starts)
    private volatile VrrpSocket wake;   // used by other threads to wake it; null once stopped
    private GratuitousArp garp;
    private Thread thread;
    private volatile VrrpState state = VrrpState.INIT;
    private volatile boolean stopRequested;
    private volatile int pendingHealth = -1;
    private final java.util.concurrent.atomic.AtomicReference<VrrpConfig> pendingConfig =
            new java.util.concurrent.atomic.AtomicReference<>();
    private volatile int lastAdvertSource;
    private volatile int priorityNow;
    private volatile int masterAdverIntCs;
    private volatile long roleChanges;

    // advert-thread only
    private final byte[] txBuf = new byte[VrrpPacket.length(255)];
    private final byte[] rxBuf = new byte[2048];
    private final VrrpPacket.View view = new VrrpPacket.View();
    private long sendErrors;

    private VrrpInstance(VrrpConfig config, VipManager vips) {
        this.config = config;
        this.vips = vips;
        NetworkInterface nif;
        try {
            nif = NetworkInterface.getByName(config.interfaceName());
            if (nif == null) {
                throw new VrrpException("VRRP interface '" + config.interfaceName() + "' does not exist");
            }
            ifindex = nif.getIndex();
            mac = nif.getHardwareAddress();
        } catch (SocketException e) {
            throw new VrrpException("cannot read interface " + config.interfaceName() + ": " + e.getMessage(), e);
        }
        primary = VrrpPacket.toInt(config.sourceAddress().orElseGet(() -> firstIpv4(nif, config)));
        vipInts = toInts(config.virtualAddresses());
        peers = config.unicastPeers().stream().mapToInt(VrrpPacket::toInt).toArray();
        destinations = peers.length == 0 ? new int[] {VrrpPacket.MULTICAST_GROUP} : peers;
        machine = new VrrpStateMachine(new Output(), primary, config.priority(), config.advertIntervalCs(),
                config.preempt(), config.preemptDelay().toNanos(), config.trackWeight());
        notifier = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "vrrp-" + config.vrid() + "-notify");
            t.setDaemon(true);
            return t;
        });
    }

    private static int[] toInts(List<VrrpConfig.VirtualAddress> vips) {
        return vips.stream().mapToInt(v -> VrrpPacket.toInt(v.address())).toArray();
    }

    /** The interface's own address, never a VIP (a crashed predecessor may have left one behind). */
    private static Inet4Address firstIpv4(NetworkInterface nif, VrrpConfig config) {
        for (InetAddress a : Collections.list(nif.getInetAddresses())) {
            if (a instanceof Inet4Address v4
                    && config.virtualAddresses().stream().noneMatch(v -> v.address().equals(v4))) {
                return v4;
            }
        }
        throw new VrrpException("interface " + nif.getName() + " has no IPv4 address besides the VIPs: "
                + "set source_address or add one");
    }

    /** An instance that manages its VIPs with a long-lived {@code ip -batch} process in this network namespace. */
    public static VrrpInstance create(VrrpConfig config) {
        return new VrrpInstance(config, new IpBatchVipManager(config.interfaceName()));
    }

    /** An instance with its own way of adding VIPs (the director may own addresses through its dataplane). */
    public static VrrpInstance create(VrrpConfig config, VipManager vips) {
        return new VrrpInstance(config, vips);
    }

    /** The config in effect: after {@link #reconfigure}, the new one once the advert thread has taken it. */
    public VrrpConfig config() {
        VrrpConfig pending = pendingConfig.get();
        return pending != null ? pending : config;
    }

    public VrrpState state() {
        return state;
    }

    public VrrpStatus status() {
        VrrpState st = state;
        int src = st == VrrpState.MASTER ? primary : lastAdvertSource;
        return new VrrpStatus(config.vrid(), st, priorityNow == 0 ? config.priority() : priorityNow,
                Duration.ofMillis(10L * (masterAdverIntCs == 0 ? config.advertIntervalCs() : masterAdverIntCs)),
                src == 0 ? Optional.empty() : Optional.of(VrrpPacket.toAddress(src)), roleChanges);
    }

    public void addListener(VrrpRoleListener listener) {
        listeners.add(listener);
    }

    /** Opens the sockets and starts advertising/listening. Throws {@link VrrpException} when it can't. */
    public synchronized void start() {
        if (thread != null) {
            throw new IllegalStateException("already started");
        }
        socket = new VrrpSocket(config.interfaceName(), ifindex, primary, peers.length == 0);
        garp = new GratuitousArp(ifindex, mac);
        wake = socket;
        thread = new Thread(this::loop, "vrrp-" + config.vrid());
        thread.setDaemon(true);
        thread.setPriority(Thread.MAX_PRIORITY);
        thread.start();
        log.info("VRRP vrid {} on {} from {}: priority {}, advert every {} ms, {} to {}", config.vrid(),
                config.interfaceName(), VrrpPacket.format(primary), config.priority(), config.advertInterval().toMillis(),
                peers.length == 0 ? "multicast" : "unicast", destinationsText());
    }

    private String destinationsText() {
        List<String> d = new ArrayList<>();
        for (int ip : destinations) {
            d.add(VrrpPacket.format(ip));
        }
        return String.join(", ", d);
    }

    /** The director's health: false → FAULT (track_weight 0) or a lower priority (negative track_weight). */
    public synchronized void setTrackedHealth(boolean ok) {
        pendingHealth = ok ? 1 : 0;
        VrrpSocket s = wake;
        if (s != null) {
            s.wakeUp();
        }
    }

    /**
     * Hands a reloaded section to the advert thread, which applies it before its next wait: the priority, interval
     * and VIP list go out with the next advert; a master adds the new VIPs (with gratuitous ARPs) and removes the
     * dropped ones, a backup only remembers them. No role changes here: the RFC's timers decide, as they do for a
     * priority lowered by tracked health.
     *
     * @throws IllegalArgumentException when {@code next} needs a new instance ({@link VrrpReload#restartReason})
     */
    public synchronized void reconfigure(VrrpConfig next) {
        VrrpReload.restartReason(config(), next).ifPresent(why -> {
            throw new IllegalArgumentException(why + ": needs a new VRRP instance");
        });
        pendingConfig.set(next);
        VrrpSocket s = wake;
        if (s != null) {
            s.wakeUp();
        }
    }

    /**
     * Leaves the VRRP group: a master sends priority 0 (the backup takes over after Skew_Time) and removes its
     * VIPs. Waits for pending notify hooks up to 2 s.
     */
    public synchronized void stop() {
        if (thread == null || stopRequested) {
            return;
        }
        stopRequested = true;
        socket.wakeUp();
        try {
            thread.join(2_000);
            notifier.shutdown();
            notifier.awaitTermination(2, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        wake = null; // a late setTrackedHealth must not write to a closed (maybe reused) fd
        if (!thread.isAlive()) {
            socket.close();
        }
        garp.close();
        vips.close();
    }

    @Override
    public void close() {
        stop();
    }

    // ---- the advert thread ----------------------------------------------------------------------------------

    private void loop() {
        raisePriority();
        machine.setHealthy(System.nanoTime(), pendingHealth != 0);
        pendingHealth = -1;
        machine.start(System.nanoTime());
        try {
            while (!stopRequested) {
                VrrpConfig next = pendingConfig.getAndSet(null);
                if (next != null) {
                    apply(next);
                }
                int health = pendingHealth;
                if (health >= 0) {
                    pendingHealth = -1;
                    machine.setHealthy(System.nanoTime(), health == 1);
                }
                priorityNow = machine.priority();
                long now = System.nanoTime();
                long deadline = machine.deadline();
                if (now >= deadline) {
                    machine.onTimer(now);
                    continue;
                }
                int timeoutMs = deadline == VrrpStateMachine.NONE ? 1_000
                        : (int) Math.min(1_000, (deadline - now + 999_999) / 1_000_000);
                if ((socket.await(timeoutMs) & 1) != 0) {
                    drain();
                }
            }
        } catch (RuntimeException | Error e) {
            log.error("VRRP advert thread failed; leaving the group", e);
        } finally {
            machine.stop(System.nanoTime());
        }
    }

    private void apply(VrrpConfig next) {
        VrrpConfig old = config;
        long now = System.nanoTime();
        machine.setPriority(next.priority());
        machine.setAdvertInterval(now, next.advertIntervalCs());
        machine.setPreempt(next.preempt(), next.preemptDelay().toNanos());
        List<VrrpConfig.VirtualAddress> added = new ArrayList<>(next.virtualAddresses());
        added.removeAll(old.virtualAddresses());
        List<VrrpConfig.VirtualAddress> dropped = new ArrayList<>(old.virtualAddresses());
        dropped.removeAll(next.virtualAddresses());
        vipInts = toInts(next.virtualAddresses());
        config = next;
        if (state == VrrpState.MASTER) {
            // Dropped first: a VIP whose prefix changed is one removal and one addition of the same address.
            if (!dropped.isEmpty()) {
                vips.remove(dropped);
            }
            if (!added.isEmpty()) {
                vips.add(added);
                announce(toInts(added), next);
            }
        }
    }

    /** The first gratuitous ARP now, garp_count - 1 more from the notify thread while we stay master. */
    private void announce(int[] addresses, VrrpConfig c) {
        for (int vip : addresses) {
            garp.announce(vip);
        }
        for (int i = 1; i < c.garpCount(); i++) {
            long delay = i * c.garpInterval().toNanos();
            notifier.schedule(() -> {
                if (state == VrrpState.MASTER) {
                    for (int vip : addresses) {
                        garp.announce(vip);
                    }
                }
            }, delay, TimeUnit.NANOSECONDS);
        }
    }

    private void drain() {
        for (int n; (n = socket.receive(rxBuf)) > 0; ) {
            long now = System.nanoTime();
            VrrpPacket.Verdict v = VrrpPacket.parseIpv4(rxBuf, 0, n, view);
            if (v != VrrpPacket.Verdict.OK) {
                if (v != VrrpPacket.Verdict.NOT_VRRP && log.isDebugEnabled()) {
                    log.debug("dropped VRRP packet from {}: {}", VrrpPacket.format(view.src), v);
                }
                continue;
            }
            if (view.vrid != config.vrid() || view.src == primary || (peers.length > 0 && !isPeer(view.src))) {
                continue;
            }
            if (view.priority > 0) {
                lastAdvertSource = view.src;
            }
            machine.onAdvert(now, view.src, view.priority, view.maxAdverIntCs);
            masterAdverIntCs = machine.masterAdverIntCs();
        }
    }

    private boolean isPeer(int src) {
        for (int p : peers) {
            if (p == src) {
                return true;
            }
        }
        return false;
    }

    private void raisePriority() {
        if (!config.realtime()) {
            return;
        }
        try {
            Pointer param = Memory.allocateDirect(LibC.runtime(), 8);
            param.putInt(0, 10);
            if (LibC.get().sched_setscheduler(0, LibC.SCHED_FIFO, param) < 0) {
                log.info("VRRP thread stays at normal priority: SCHED_FIFO refused ({})", LibC.lastError());
            }
        } catch (RuntimeException | LinkageError e) {
            log.info("VRRP thread stays at normal priority: {}", e.toString());
        }
    }

    private final class Output implements VrrpStateMachine.Output {
        @Override
        public void sendAdvert(int priority) {
            VrrpConfig c = config;
            int[] v = vipInts;
            for (int dst : destinations) {
                int len = VrrpPacket.encode(txBuf, 0, c.vrid(), priority, c.advertIntervalCs(), v, v.length,
                        primary, dst);
                if (!socket.send(txBuf, len, dst) && (sendErrors++ % 100) == 0) {
                    log.warn("VRRP advert to {} failed: {} ({} failures so far)", VrrpPacket.format(dst),
                            LibC.lastError(), sendErrors);
                }
            }
        }

        @Override
        public void stateChanged(VrrpState from, VrrpState to) {
            state = to;
            roleChanges++;
            if (to == VrrpState.MASTER) {
                vips.add(config.virtualAddresses());
                announce(vipInts, config);
            } else if (from == VrrpState.MASTER || from == VrrpState.INIT) {
                // Also on start: a crashed predecessor may have left the VIPs behind.
                vips.remove(config.virtualAddresses());
            }
            // Losing mastership or going to FAULT (link down, director unhealthy) is what an operator must see.
            if (to == VrrpState.FAULT || from == VrrpState.MASTER) {
                log.warn("VRRP vrid {}: {} -> {}", config.vrid(), from, to);
            } else {
                log.info("VRRP vrid {}: {} -> {}", config.vrid(), from, to);
            }
            notifier.execute(() -> tellListeners(from, to));
        }
    }

    private void tellListeners(VrrpState from, VrrpState to) {
        for (VrrpRoleListener l : listeners) {
            try {
                l.roleChanged(from, to);
            } catch (RuntimeException e) {
                log.error("VRRP role listener failed", e);
            }
        }
        if (!config.notifyCommand().isEmpty()) {
            List<String> cmd = new ArrayList<>(config.notifyCommand());
            cmd.add(to.word());
            try {
                Process p = new ProcessBuilder(cmd).redirectErrorStream(true)
                        .redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
                p.onExit().thenAccept(done -> {
                    if (done.exitValue() != 0) {
                        log.warn("VRRP notify {} exited with {}", cmd, done.exitValue());
                    }
                });
            } catch (IOException e) {
                log.warn("VRRP notify {} could not start: {}", cmd, e.getMessage());
            }
        }
    }
}
