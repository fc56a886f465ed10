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
    private final VrrpAddresses addrs;
    private final int primary;          // our key in addrs
    private final int ifindex;
    private final byte[] mac;
    private volatile byte[] vipBytes;   // the VIPs, 4 or 16 bytes each; replaced whole with config
    private final int[] peers;
    private final VrrpStateMachine machine;
    private final ScheduledExecutorService notifier;

    private VrrpSocket socket;          // used by the advert thread (set before it starts)
    private volatile VrrpSocket wake;   // used by other threads to wake it; null once stopped
    private VipAnnouncer garp;          // gratuitous ARP (IPv4) or unsolicited Neighbor Advertisements (IPv6)
    private Thread thread;
    private volatile VrrpState state = VrrpState.INIT;
    private volatile boolean stopRequested;
    private volatile int pendingHealth = -1;
    private volatile int pendingHold = -1;
    private final java.util.concurrent.atomic.AtomicReference<VrrpConfig> pendingConfig =
            new java.util.concurrent.atomic.AtomicReference<>();
    private volatile int lastAdvertSource;
    private volatile int priorityNow;
    private volatile int masterAdverIntCs;
    private volatile long roleChanges;
    private final VrrpMismatches mismatches;
    private final VrrpTracker tracker; // null without track_interface/track_script
    private final java.util.concurrent.atomic.AtomicReference<int[]> pendingTracked =
            new java.util.concurrent.atomic.AtomicReference<>(); // {fault 0/1, delta}

    // advert-thread only
    private final byte[] txBuf = new byte[VrrpPacket.length(255, 16)];
    private final byte[] rxBuf = new byte[2048];
    private final VrrpPacket.View view = new VrrpPacket.View();
    private long sendErrors;
    private long nextVipRefresh;
    private volatile long masterTerm; // incremented on each MASTER entry: scheduled ARPs of an old term are void
    private volatile java.util.concurrent.ScheduledFuture<?> garpRefresh;
    private long lastExpiry;

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
        addrs = new VrrpAddresses(config.sourceAddress().orElseGet(() -> config.ipv6() ? linkLocal(nif)
                : firstIpv4(nif, config)), config.unicastPeers());
        primary = addrs.primaryKey;
        vipBytes = toBytes(config.virtualAddresses());
        peers = addrs.peerKeys;
        mismatches = new VrrpMismatches(config.vrid(), addrs::name);
        tracker = config.tracking().isEmpty() ? null : new VrrpTracker(config.vrid(), config.tracking(), (fault, delta) -> {
            pendingTracked.set(new int[] {fault ? 1 : 0, delta});
            VrrpSocket s = wake;
            if (s != null) {
                s.wakeUp();
            }
        });
        machine = new VrrpStateMachine(new Output(), primary, config.priority(), config.advertIntervalCs(),
                config.preempt(), config.preemptDelay().toNanos(), config.trackWeight());
        java.util.concurrent.ScheduledThreadPoolExecutor n = new java.util.concurrent.ScheduledThreadPoolExecutor(1, r -> {
            Thread t = new Thread(r, "vrrp-" + config.vrid() + "-notify");
            t.setDaemon(true);
            return t;
        });
        // A stop must not wait for a second GARP burst 5 s away: pending announcements die with the instance.
        n.setExecuteExistingDelayedTasksAfterShutdownPolicy(false);
        n.setRemoveOnCancelPolicy(true);
        notifier = n;
    }

    private static byte[] toBytes(List<VrrpConfig.VirtualAddress> vips) {
        java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
        vips.forEach(v -> out.writeBytes(v.address().getAddress()));
        return out.toByteArray();
    }

    /** RFC 5798 §5.1.2.1: over IPv6 the source of adverts is the interface's link-local address. */
    private static InetAddress linkLocal(NetworkInterface nif) {
        for (InetAddress a : Collections.list(nif.getInetAddresses())) {
            if (a instanceof java.net.Inet6Address v6 && v6.isLinkLocalAddress()) {
                return VrrpSocket.address(v6.getAddress());
            }
        }
        throw new VrrpException("interface " + nif.getName() + " has no IPv6 link-local address (fe80::/10), which "
                + "VRRP over IPv6 sends from: enable IPv6 on it (addrgenmode eui64) or set source_address");
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
                Optional.ofNullable(addrs.address(src)), roleChanges,
                mismatches.active(System.nanoTime()), mismatches.totals(),
                tracker == null ? List.of() : tracker.describe());
    }

    /**
     * Removes our VIPs from the interface: a predecessor that was SIGKILLed as master may have left them, and its
     * kernel would answer ARP for them next to the real master. {@link #start} does it first; the director calls it
     * before anything else at startup. Not while this instance is master.
     */
    public void releaseVips() {
        if (state != VrrpState.MASTER) {
            vips.remove(config().virtualAddresses());
        }
    }

    public void addListener(VrrpRoleListener listener) {
        listeners.add(listener);
    }

    /** Opens the sockets and starts advertising/listening. Throws {@link VrrpException} when it can't. */
    public synchronized void start() {
        if (thread != null) {
            throw new IllegalStateException("already started");
        }
        releaseVips();
        socket = new VrrpSocket(config.interfaceName(), ifindex, addrs.primary, peers.length == 0);
        try {
            garp = addrs.ipv6 ? new NeighborAdvert(config.interfaceName(), ifindex, mac) : new GratuitousArp(ifindex, mac);
        } catch (RuntimeException e) {
            socket.close();
            throw e;
        }
        wake = socket;
        thread = new Thread(this::loop, "vrrp-" + config.vrid());
        thread.setDaemon(true);
        thread.setPriority(Thread.MAX_PRIORITY);
        thread.start();
        if (tracker != null) {
            tracker.start();
        }
        log.info("VRRP vrid {} on {} from {}: priority {}, advert every {} ms, {} to {}", config.vrid(),
                config.interfaceName(), addrs.name(primary), config.priority(), config.advertInterval().toMillis(),
                peers.length == 0 ? "multicast" : "unicast", destinationsText());
    }

    private String destinationsText() {
        List<String> d = new ArrayList<>();
        for (byte[] ip : addrs.destinations) {
            d.add(VrrpConfig.text(VrrpSocket.address(ip)));
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

    /** See {@link VrrpStateMachine#holdPreemption}; applied by the advert thread. */
    public synchronized void holdPreemption(boolean hold) {
        pendingHold = hold ? 1 : 0;
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
        if (thread == null) {
            // Never started (the director failed before VRRP's turn): only the VIP helper to end.
            notifier.shutdownNow();
            if (tracker != null) {
                tracker.close();
            }
            vips.close();
            return;
        }
        if (stopRequested) {
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
        if (tracker != null) {
            tracker.close();
        }
        // Whatever the role was (a wedged advert thread included): a stopped director owns no VIP.
        vips.remove(config.virtualAddresses());
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
        if (tracker != null && pendingTracked.get() == null) {
            machine.setTracked(System.nanoTime(), tracker.initialFault(), tracker.initialDelta());
        }
        applyTracked();
        machine.start(System.nanoTime());
        try {
            while (!stopRequested) {
                VrrpConfig next = pendingConfig.getAndSet(null);
                if (next != null) {
                    apply(next);
                }
                applyTracked();
                int health = pendingHealth;
                if (health >= 0) {
                    pendingHealth = -1;
                    machine.setHealthy(System.nanoTime(), health == 1);
                }
                int hold = pendingHold;
                if (hold >= 0) {
                    pendingHold = -1;
                    machine.holdPreemption(hold == 1);
                }
                priorityNow = machine.priority();
                long now = System.nanoTime();
                refreshVipLifetime(now);
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
                if (now - lastExpiry >= 1_000_000_000L) {
                    lastExpiry = now;
                    mismatches.expire(now);
                }
            }
        } catch (RuntimeException | Error e) {
            log.error("VRRP advert thread failed; leaving the group", e);
        } finally {
            machine.stop(System.nanoTime());
        }
    }

    private void applyTracked() {
        int[] t = pendingTracked.getAndSet(null);
        if (t != null) {
            int before = machine.priority();
            machine.setTracked(System.nanoTime(), t[0] == 1, t[1]);
            if (machine.priority() != before) {
                log.info("VRRP vrid {}: tracked priority {} -> {}", config.vrid(), before, machine.priority());
            }
        }
    }

    /** While master with a finite vip_lifetime: re-add the VIPs every third of it so they never expire under us. */
    private void refreshVipLifetime(long now) {
        VrrpConfig.Ownership o = config.ownership();
        if (state != VrrpState.MASTER || o.vipLifetime().isZero() || now - nextVipRefresh < 0) {
            return;
        }
        vips.add(config.virtualAddresses(), o.vipLifetime());
        nextVipRefresh = now + o.refreshEvery().toNanos();
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
        vipBytes = toBytes(next.virtualAddresses());
        config = next;
        if (state == VrrpState.MASTER) {
            // Dropped first: a VIP whose prefix changed is one removal and one addition of the same address.
            if (!dropped.isEmpty()) {
                vips.remove(dropped);
            }
            if (!added.isEmpty()) {
                vips.add(added, next.ownership().vipLifetime());
                announce(toBytes(added), next);
            }
            if (!next.ownership().equals(old.ownership())) {
                nextVipRefresh = System.nanoTime(); // a new lifetime (or forever) at once
                startGarpRefresh(next);
            }
        }
    }

    /**
     * The first gratuitous ARP now, garp_count - 1 more from the notify thread while we stay master; with
     * garp_master_delay the same burst again after that delay (keepalived's vrrp_garp_master_delay), for switches
     * and hosts that missed the first one while the link or their tables were settling.
     */
    private void announce(byte[] addresses, VrrpConfig c) {
        announceAll(addresses);
        long term = masterTerm;
        burst(addresses, c, 1, 0, term);
        Duration second = c.ownership().garpMasterDelay();
        if (!second.isZero()) {
            burst(addresses, c, 0, second.toNanos(), term);
        }
    }

    private void burst(byte[] addresses, VrrpConfig c, int from, long startNanos, long term) {
        for (int i = from; i < c.garpCount(); i++) {
            long delay = startNanos + i * c.garpInterval().toNanos();
            notifier.schedule(() -> announceIfStillMaster(addresses, term), delay, TimeUnit.NANOSECONDS);
        }
    }

    /** Only within the mastership that scheduled it: a master that lost and regained the role starts anew. */
    private void announceIfStillMaster(byte[] addresses, long term) {
        if (state == VrrpState.MASTER && masterTerm == term) {
            announceAll(addresses);
        }
    }

    private void announceAll(byte[] addresses) {
        int alen = addrs.addressLength();
        for (int off = 0; off + alen <= addresses.length; off += alen) {
            garp.announce(addresses, off);
        }
    }

    /** garp_master_refresh: one gratuitous ARP per VIP that often while master (replaces a running schedule). */
    private void startGarpRefresh(VrrpConfig c) {
        java.util.concurrent.ScheduledFuture<?> old = garpRefresh;
        if (old != null) {
            old.cancel(false);
            garpRefresh = null;
        }
        Duration every = c.ownership().garpMasterRefresh();
        if (!every.isZero() && state == VrrpState.MASTER) {
            long term = masterTerm;
            garpRefresh = notifier.scheduleAtFixedRate(() -> announceIfStillMaster(vipBytes, term), every.toNanos(),
                    every.toNanos(), TimeUnit.NANOSECONDS);
        }
    }

    private void drain() {
        boolean v6 = addrs.ipv6;
        for (int n; (n = v6 ? socket.receive6(rxBuf, view) : socket.receive(rxBuf)) > 0; ) {
            long now = System.nanoTime();
            VrrpPacket.Verdict v = v6 ? VrrpPacket.parseIpv6(rxBuf, 0, n, view.ttl, view)
                    : VrrpPacket.parseIpv4(rxBuf, 0, n, view);
            if (v6) {
                view.src = addrs.sourceKey(view);
            }
            if (v == VrrpPacket.Verdict.NOT_VRRP || view.src == primary) {
                continue;
            }
            if (v == VrrpPacket.Verdict.BAD_TTL && isConfiguredPeer(view.src)) {
                // An otherwise valid advert from a peer we named: the peer list is the protection here, as in
                // keepalived, which accepts any TTL over unicast and itself sends IPv6 unicast adverts with hop
                // limit 64 (2.2.7).
                v = VrrpPacket.Verdict.OK;
            }
            if (v != VrrpPacket.Verdict.OK) {
                examineDropped(now, v);
                continue;
            }
            VrrpConfig c = config;
            if (view.vrid != c.vrid()) {
                // Another group on the segment is normal; one that carries our VIPs (or a configured peer in another
                // group) means two masters for the same addresses.
                boolean ours = view.priority > 0 && carriesOurVip();
                if (view.priority == 0) {
                    mismatches.left(view.src);
                } else if (ours || isConfiguredPeer(view.src)) {
                    int theirs = view.vrid;
                    int src = view.src;
                    mismatches.report(now, src, VrrpMismatches.Cause.VRID, ours, () -> ours
                            ? addrs.name(src) + " is MASTER for our VIPs " + vipText() + " under vrid " + theirs
                            + " (ours: " + c.vrid() + "); it can't hear us nor we it, so both answer " + resolution() + " for them. "
                            + "Give every peer of this group the same vrid"
                            : "unicast peer " + addrs.name(src) + " adverts vrid " + theirs + " (ours: " + c.vrid()
                            + "): we ignore it and it ignores us. Give every peer of this group the same vrid");
                }
                continue;
            }
            if (peers.length > 0 && !isPeer(view.src)) {
                continue;
            }
            if (view.priority > 0 && view.maxAdverIntCs != c.advertIntervalCs()) {
                int theirs = view.maxAdverIntCs;
                int src = view.src;
                mismatches.report(now, src, VrrpMismatches.Cause.INTERVAL, false, () -> "peer "
                        + addrs.name(src) + " adverts every " + theirs * 10 + " ms, we every "
                        + c.advertInterval().toMillis() + " ms: a backup follows the master's interval (RFC 5798), "
                        + "so failover time depends on who is master. Set the same advert_interval (keepalived: "
                        + "advert_int) on every peer");
            }
            if (view.priority > 0) {
                lastAdvertSource = view.src;
            }
            machine.onAdvert(now, addrs.sourceIsHigher(view), view.priority, view.maxAdverIntCs);
            masterAdverIntCs = machine.masterAdverIntCs();
        }
    }

    /** A packet the codec refused: say so when it concerns our group (our VRID, our VIPs or a configured peer). */
    private void examineDropped(long now, VrrpPacket.Verdict v) {
        VrrpConfig c = config;
        int src = view.src;
        switch (v) {
            case BAD_VERSION -> {
                int version = view.version;
                VrrpPacket.Verdict v2 = VrrpPacket.parseV2(rxBuf, view);
                if (version != 2) {
                    view.vrid = view.vrrpLength > 1 ? rxBuf[view.vrrpOffset + 1] & 0xFF : 0;
                }
                if (!concernsUs(c)) {
                    return;
                }
                if (v2 == VrrpPacket.Verdict.OK && view.priority == 0) {
                    mismatches.left(src);
                    return;
                }
                boolean ours = v2 == VrrpPacket.Verdict.OK && view.priority > 0 && carriesOurVip();
                int theirVrid = view.vrid;
                int seconds = view.maxAdverIntCs / 100;
                mismatches.report(now, src, VrrpMismatches.Cause.VERSION, ours, () -> addrs.name(src)
                        + " speaks VRRPv" + version + (version == 2 ? " (vrid " + theirVrid + ", advert " + seconds
                        + " s)" : "") + "; Tiergate speaks VRRPv3 only and drops it"
                        + (ours ? ", and it is MASTER for our VIPs " + vipText() + ": both answer " + resolution() + " for them" : "")
                        + ". Set vrrp_version 3 in keepalived's global_defs");
                if (v2 == VrrpPacket.Verdict.OK && view.authType != 0) {
                    int type = view.authType;
                    mismatches.report(now, src, VrrpMismatches.Cause.AUTH, false, () -> addrs.name(src)
                            + " sends VRRPv2 authentication (auth type " + type + (type == 1 ? ", simple password"
                            : type == 2 ? ", IP AH" : "") + "); VRRPv3 has none (RFC 5798). Remove the "
                            + "authentication block from keepalived's vrrp_instance");
                }
            }
            case BAD_CHECKSUM, BAD_TTL -> {
                if (!concernsUs(c)) {
                    return;
                }
                int ttl = view.ttl;
                boolean checksum = v == VrrpPacket.Verdict.BAD_CHECKSUM;
                mismatches.report(now, src, checksum ? VrrpMismatches.Cause.CHECKSUM : VrrpMismatches.Cause.TTL,
                        false, () -> checksum
                                ? "advert from " + addrs.name(src) + " has a bad checksum and is dropped "
                                + "(corrupted, or the peer leaves the " + (addrs.ipv6 ? "IPv6" : "IPv4")
                                + " pseudo-header out of its VRRPv3 checksum, "
                                + "RFC 5798 §5.2.8)"
                                : "advert from " + addrs.name(src) + " arrived with TTL " + ttl
                                + " instead of 255 (it crossed a router) and is dropped: VRRP peers must share a link");
            }
            default -> {
                if (log.isDebugEnabled()) {
                    log.debug("dropped VRRP packet from {}: {}", addrs.name(src), v);
                }
            }
        }
    }

    private boolean concernsUs(VrrpConfig c) {
        return view.vrid == c.vrid() || isConfiguredPeer(view.src) || carriesOurVip();
    }

    private boolean isConfiguredPeer(int src) {
        return peers.length > 0 && isPeer(src);
    }

    /** Whether the advert in {@link #view} lists one of our VIPs. Allocates nothing. */
    private boolean carriesOurVip() {
        byte[] ours = vipBytes;
        int alen = view.addressLength();
        if (alen != addrs.addressLength()) {
            return false;
        }
        for (int i = 0; i < view.count; i++) {
            int a = view.addrOffset + alen * i;
            for (int off = 0; off + alen <= ours.length; off += alen) {
                if (java.util.Arrays.equals(rxBuf, a, a + alen, ours, off, off + alen)) {
                    return true;
                }
            }
        }
        return false;
    }

    /** How hosts find the VIP's owner: what two masters both answer. */
    private String resolution() {
        return addrs.ipv6 ? "Neighbor Solicitations" : "ARP";
    }

    private String vipText() {
        List<String> out = new ArrayList<>();
        config.virtualAddresses().forEach(v -> out.add(VrrpConfig.text(v.address())));
        return String.join(", ", out);
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
            byte[] v = vipBytes;
            int alen = addrs.addressLength();
            for (byte[] dst : addrs.destinations) {
                boolean sent;
                if (addrs.ipv6) {
                    int len = VrrpPacket.encode6(txBuf, 0, c.vrid(), priority, c.advertIntervalCs(), v, v.length / alen,
                            addrs.primary, dst);
                    sent = socket.send6(txBuf, len, dst);
                } else {
                    int to = VrrpPacket.getInt(dst, 0);
                    int len = VrrpPacket.encode(txBuf, 0, c.vrid(), priority, c.advertIntervalCs(), v, v.length / alen,
                            primary, to);
                    sent = socket.send(txBuf, len, to);
                }
                if (!sent && (sendErrors++ % 100) == 0) {
                    log.warn("VRRP advert to {} failed: {} ({} failures so far)", VrrpConfig.text(VrrpSocket.address(dst)),
                            LibC.lastError(), sendErrors);
                }
            }
        }

        @Override
        public void stateChanged(VrrpState from, VrrpState to) {
            state = to;
            roleChanges++;
            if (to == VrrpState.MASTER) {
                masterTerm++;
                vips.add(config.virtualAddresses(), config.ownership().vipLifetime());
                nextVipRefresh = System.nanoTime() + config.ownership().refreshEvery().toNanos();
                announce(vipBytes, config);
                startGarpRefresh(config);
            } else if (from == VrrpState.MASTER || from == VrrpState.INIT) {
                // Also on start: a crashed predecessor may have left the VIPs behind.
                vips.remove(config.virtualAddresses());
                startGarpRefresh(config); // cancels a running refresh
            }
            // Losing mastership or going to FAULT (link down, director unhealthy) is what an operator must see. Going
            // to INIT is a stop the operator asked for (its SIGTERM line says so): INFO, or every planned failover
            // would page someone.
            if (to == VrrpState.FAULT || (from == VrrpState.MASTER && to != VrrpState.INIT)) {
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
