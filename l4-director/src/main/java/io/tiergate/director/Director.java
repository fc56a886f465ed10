package io.tiergate.director;

import io.tiergate.director.admin.DirectorAdmin;
import io.tiergate.director.bgp.BgpSpeaker;
import io.tiergate.director.config.DirectorConfig;
import io.tiergate.director.dataplane.Dataplane;
import io.tiergate.director.dataplane.DataplaneException;
import io.tiergate.director.dataplane.DataplaneKind;
import io.tiergate.director.dataplane.PrivilegeException;
import io.tiergate.director.dataplane.ipvs.IpvsDataplane;
import io.tiergate.director.dataplane.nft.NftDataplane;
import io.tiergate.director.model.Role;
import io.tiergate.director.dataplane.userspace.UserspaceDataplane;
import io.tiergate.director.engine.DirectorStatus;
import io.tiergate.director.engine.Engine;
import io.tiergate.director.engine.HealthMonitor;
import io.tiergate.director.engine.Resolver;
import io.tiergate.director.engine.HaStatus;
import io.tiergate.director.engine.StepReport;
import io.tiergate.director.ha.VrrpConfig;
import io.tiergate.director.ha.VrrpException;
import io.tiergate.director.ha.VrrpInstance;
import io.tiergate.director.ha.VrrpReload;
import io.tiergate.director.ha.VrrpRoleListener;
import io.tiergate.director.ha.VrrpState;
import io.tiergate.director.ha.VrrpStatus;
import io.tiergate.shared.admin.EventLog;
import io.tiergate.shared.health.HealthEngine;
import io.tiergate.shared.health.HealthState;
import io.tiergate.shared.health.HealthTarget;
import io.tiergate.shared.health.HealthTransition;
import io.vertx.core.Vertx;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletionException;
import java.util.concurrent.atomic.AtomicReference;

/**
 * The L4 director: picks a dataplane, starts the single-writer engine, the health checks and the admin endpoint.
 * This is the entry point the CLI (and the demo) use.
 */
public final class Director implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(Director.class);

    private final Engine engine;
    private final HealthEngine health;
    private final DirectorAdmin admin;
    private final Dataplane dataplane;
    private final java.util.function.Function<VrrpConfig, HaInstance> haFactory;
    private final boolean sync;
    private final EventLog events;
    private volatile HaWiring ha; // null without director.vrrp; replaced by reload (guarded by this)
    private volatile BgpSpeaker bgp; // null without director.bgp; set once by start
    private boolean closed; // guarded by this: a reload racing close() must not start VRRP again
    private final io.tiergate.shared.metrics.ReloadMetrics noAdminReloads =
            new io.tiergate.shared.metrics.ReloadMetrics(new io.micrometer.core.instrument.simple.SimpleMeterRegistry());

    private Director(Engine engine, HealthEngine health, DirectorAdmin admin, Dataplane dataplane, HaWiring ha,
                     java.util.function.Function<VrrpConfig, HaInstance> haFactory, boolean sync, EventLog events) {
        this.events = events;
        this.engine = engine;
        this.health = health;
        this.admin = admin;
        this.dataplane = dataplane;
        this.ha = ha;
        this.haFactory = haFactory;
        this.sync = sync;
    }

    /**
     * What the director needs from its VRRP instance: {@link VrrpInstance} in production, a fake in tests (a real one
     * needs root and an interface).
     */
    public interface HaInstance {
        VrrpConfig config();

        void addListener(VrrpRoleListener listener);

        void start();

        void setTrackedHealth(boolean ok);

        /** While held, an existing master is not preempted (no master: taking over is not held). */
        default void holdPreemption(boolean hold) {
        }

        /** A reloaded section that {@link io.tiergate.director.ha.VrrpReload#restartReason} says applies live. */
        void reconfigure(VrrpConfig next);

        VrrpStatus status();

        /** Removes our VIPs a SIGKILLed predecessor may have left; called before anything else at start. */
        default void releaseVips() {
        }

        /** Whether the VRRP interface is up: a director whose link is down is unhealthy (FAULT, VIPs given up). */
        boolean linkUp();

        void stop();
    }

    /** The production {@link HaInstance}: a {@link VrrpInstance} owning the VIPs with {@code ip -batch}. */
    public static HaInstance vrrp(VrrpConfig config) {
        VrrpInstance v = VrrpInstance.create(config);
        return new HaInstance() {
            @Override
            public VrrpConfig config() {
                return v.config();
            }

            @Override
            public void addListener(VrrpRoleListener listener) {
                v.addListener(listener);
            }

            @Override
            public void start() {
                v.start();
            }

            @Override
            public void holdPreemption(boolean hold) {
                v.holdPreemption(hold);
            }

            @Override
            public void setTrackedHealth(boolean ok) {
                v.setTrackedHealth(ok);
            }

            @Override
            public void releaseVips() {
                v.releaseVips();
            }

            @Override
            public void reconfigure(VrrpConfig next) {
                v.reconfigure(next);
            }

            @Override
            public VrrpStatus status() {
                return v.status();
            }

            @Override
            public boolean linkUp() {
                try {
                    java.net.NetworkInterface nif = java.net.NetworkInterface.getByName(config.interfaceName());
                    return nif != null && nif.isUp();
                } catch (java.net.SocketException e) {
                    return false;
                }
            }

            @Override
            public void stop() {
                v.stop();
            }
        };
    }

    /** A dataplane and the sentence that explains why it was chosen (logged at start and shown by status). */
    public record Choice(DataplaneKind kind, String reason) {
    }

    /**
     * Resolves {@code dataplane: auto}: ipvs when root and the kernel has IPVS (or {@code modprobe ip_vs} adds it) and
     * the config is expressible on it; else nft when libnftables.so.1 loads and the config is expressible on nft;
     * otherwise userspace. The reason names what ruled out each better choice.
     */
    public static Choice choose(DirectorConfig config) {
        return choose(config, hasNetAdmin(), IpvsDataplane::unavailableReason, () -> NftDataplane.unavailableReason(config));
    }

    static Choice choose(DirectorConfig config, boolean root, java.util.function.Supplier<Optional<String>> ipvsMissing,
                         java.util.function.Supplier<Optional<String>> nftMissing) {
        DataplaneKind asked = config.dataplane();
        if (asked != DataplaneKind.AUTO) {
            return new Choice(asked, "configured (dataplane: " + asked.configName() + ")");
        }
        if (!root) {
            return new Choice(DataplaneKind.USERSPACE,
                    "auto: no CAP_NET_ADMIN (not root), so the kernel cannot be programmed");
        }
        List<String> why = new java.util.ArrayList<>();
        Optional<String> noIpvs = ipvsMissing.get();
        var cantIpvs = config.unsupportedOn(DataplaneKind.IPVS);
        if (noIpvs.isEmpty() && cantIpvs.isEmpty()) {
            return new Choice(DataplaneKind.IPVS, "auto: root and the kernel has IPVS");
        }
        why.add("ipvs: " + noIpvs.orElseGet(() -> "cannot express this config (" + cantIpvs.get(0) + ")"));
        Optional<String> noNft = nftMissing.get();
        // sync is an IPVS extra: without IPVS it is simply not run, not a reason to fall back further
        var cantNft = config.withSync(Optional.empty()).unsupportedOn(DataplaneKind.NFT);
        if (noNft.isEmpty() && cantNft.isEmpty()) {
            return new Choice(DataplaneKind.NFT, "auto: root and libnftables.so.1 loaded; " + why.get(0));
        }
        why.add("nft: " + noNft.orElseGet(() -> "cannot express this config (" + cantNft.get(0) + ")"));
        return new Choice(DataplaneKind.USERSPACE, "auto: " + String.join("; ", why));
    }

    public static Director start(Vertx vertx, DirectorConfig config) throws DataplaneException {
        Choice choice = choose(config);
        if ((choice.kind() == DataplaneKind.NFT || choice.kind() == DataplaneKind.IPVS) && !hasNetAdmin()) {
            // Checked before opening it: libnftables would print its own "Operation not permitted" lines first.
            throw new PrivilegeException("dataplane: " + choice.kind().configName() + " needs root or CAP_NET_ADMIN, "
                    + "which this process does not have: run it as root, give the service AmbientCapabilities="
                    + "CAP_NET_ADMIN CAP_NET_RAW (deploy/systemd), or set dataplane: userspace");
        }
        log.info("director dataplane: {} ({})", choice.kind().configName(), choice.reason());
        Callable<Dataplane> factory = switch (choice.kind()) {
            case NFT -> () -> NftDataplane.open(config);
            case USERSPACE -> () -> new UserspaceDataplane(vertx, config.connectTimeout(), config.udpIdleTimeout());
            case IPVS -> IpvsDataplane::open;
            default -> throw new DataplaneException("dataplane " + choice.kind().configName() + " cannot be started");
        };
        return start(vertx, config, factory, choice.reason());
    }

    /** With a dataplane of the caller's choosing (tests, embedding); VRRP, when configured, is the real one. */
    public static Director start(Vertx vertx, DirectorConfig config, Callable<Dataplane> factory, String reason)
            throws DataplaneException {
        return start(vertx, config, factory, reason, Director::vrrp);
    }

    /** With a dataplane and a VRRP implementation of the caller's choosing (tests). */
    public static Director start(Vertx vertx, DirectorConfig config, Callable<Dataplane> factory, String reason,
                                 java.util.function.Function<VrrpConfig, HaInstance> haFactory)
            throws DataplaneException {
        // Before anything else: a director that was SIGKILLed as master left its VIPs on the interface, and its
        // kernel answers ARP for them next to the live master until they are gone.
        HaInstance vrrp = null;
        if (config.vrrp().isPresent()) {
            try {
                vrrp = haFactory.apply(config.vrrp().get());
                vrrp.releaseVips();
            } catch (VrrpException e) {
                throw new DataplaneException("vrrp: " + e.getMessage(), e);
            }
        }
        try {
            return start(vertx, config, factory, reason, vrrp, haFactory);
        } catch (DataplaneException | RuntimeException e) {
            if (vrrp != null) {
                vrrp.stop(); // never started: only its VIP helper process to end
            }
            throw e;
        }
    }

    private static Director start(Vertx vertx, DirectorConfig config, Callable<Dataplane> factory, String reason,
                                  HaInstance vrrp, java.util.function.Function<VrrpConfig, HaInstance> haFactory)
            throws DataplaneException {
        AtomicReference<Engine> engineRef = new AtomicReference<>();
        EventLog events = new EventLog();
        // The engine's first step starts the probes, and a probe can report before Engine.start returns: keep
        // those early transitions and hand them over, or a real server would stay "unknown" for good (the health
        // engine reports changes only).
        List<HealthTransition> early = new ArrayList<>();
        HealthEngine health = new HealthEngine(vertx, t -> {
            logTransition(t);
            healthEvent(events, t);
            Engine e;
            synchronized (early) {
                e = engineRef.get();
                if (e == null) {
                    early.add(t);
                    return;
                }
            }
            e.onHealth(t);
        });
        HealthMonitor monitor = new HealthMonitor() {
            @Override
            public void watch(HealthTarget target) {
                health.add(target, HealthState.UNKNOWN);
            }

            @Override
            public void unwatch(String id) {
                health.remove(id);
            }
        };
        AtomicReference<Dataplane> dp = new AtomicReference<>();
        Engine engine = Engine.start(config, () -> {
            Dataplane d = factory.call();
            dp.set(d);
            return d;
        }, monitor, Resolver.SYSTEM, reason);
        if (engine.startError() != null) {
            // A director that cannot program what it was given must not say "running": the caller exits on this.
            String what = "the " + engine.dataplane().name() + " dataplane cannot be programmed: " + engine.startError()
                    + (reason != null && reason.startsWith("auto") ? " (" + reason + ")" : "");
            health.close();
            engine.close();
            throw PrivilegeException.isPrivilegeError(what) ? new PrivilegeException(what) : new DataplaneException(what);
        }
        synchronized (early) {
            engineRef.set(engine);
            early.forEach(engine::onHealth);
            early.clear();
        }
        DirectorAdmin admin = null;
        if (config.admin().isPresent()) {
            try {
                admin = DirectorAdmin.start(vertx, config.admin().get(), config.adminAccess(), engine, events);
                log.info("director admin on http://{}:{}/api/status", config.admin().get().host(), admin.port());
            } catch (Exception e) {
                engine.close();
                health.close();
                Throwable c = e.getCause() == null ? e : e.getCause();
                throw new DataplaneException("cannot start the admin endpoint on " + config.admin().get() + ": "
                        + c.getMessage() + " (set director.admin to a free address, or off)", c);
            }
        }
        HaWiring ha = null;
        if (vrrp != null) {
            try {
                ha = HaWiring.start(engine, vrrp, config.sync().isPresent(), events);
            } catch (VrrpException | IllegalStateException e) {
                if (admin != null) {
                    admin.close();
                }
                health.close();
                engine.close();
                throw new DataplaneException("vrrp: " + e.getMessage(), e);
            }
        }
        if (admin != null) {
            admin.refresh(engine); // the VRRP series exist from the first scrape too
        }
        events.info("start", "director started: dataplane " + reason + ", " + config.services().size() + " service(s)");
        Director d = new Director(engine, health, admin, dp.get(), ha, haFactory, config.sync().isPresent(), events);
        if (config.bgp().isPresent()) {
            d.startBgp(config);
        }
        return d;
    }

    /** BGP after everything else: nothing is announced before the dataplane and the checks run. */
    private void startBgp(DirectorConfig config) throws DataplaneException {
        io.tiergate.director.bgp.FlowContinuity.prepare(config, dataplane == null ? null : dataplane.kind());
        try {
            bgp = BgpSpeaker.start(config.bgp().get(), config.vipPrefixes(), engine::servableVips,
                    admin == null ? new io.micrometer.core.instrument.simple.SimpleMeterRegistry() : admin.registry());
        } catch (BgpSpeaker.BgpException e) {
            close();
            throw new DataplaneException(e.getMessage(), e);
        }
        engine.bgpStatus(bgp::status);
        if (admin != null) {
            BgpSpeaker b = bgp;
            admin.fleet(new DirectorAdmin.Fleet() {
                @Override
                public java.util.concurrent.CompletableFuture<Void> drainAll() {
                    return b.drainAll();
                }

                @Override
                public java.util.concurrent.CompletableFuture<Void> enableAll() {
                    return b.enableAll();
                }
            });
        }
    }

    /** One line per real server state change: WARN when it goes DOWN or comes back, INFO for its first verdict. */
    private static void logTransition(HealthTransition t) {
        if (t.from() == HealthState.UNKNOWN && t.to() == HealthState.UP) {
            log.info("real server {} is UP: {}", t.targetId(), t.reason());
        } else {
            log.warn("real server {} {} -> {}: {}", t.targetId(), t.from(), t.to(), t.reason());
        }
    }

    /** A real server's health flip, for the status page; the first verdict on a new server only when it is DOWN. */
    private static void healthEvent(EventLog events, HealthTransition t) {
        if (t.from() == HealthState.UNKNOWN && t.to() == HealthState.UP) {
            return;
        }
        String msg = "real server " + t.targetId() + " is " + t.to() + " (" + t.reason() + ")";
        if (t.to() == HealthState.DOWN) {
            events.warn("health", msg);
        } else {
            events.info("health", msg);
        }
    }

    /** Health flips, VRRP role changes, reloads and admin actions, newest last (the status page shows them). */
    public EventLog events() {
        return events;
    }

    /**
     * Glue between the engine and VRRP. The dataplane is programmed identically whatever the role (the standby holds
     * the same tables, so a takeover remaps nothing); only the VIPs move, and VRRP moves them. Role changes become
     * engine events (IPVS sync daemon master/backup when {@code sync:} is set); the engine's "can serve" and the
     * interface's link state become VRRP's tracked health.
     */
    static final class HaWiring {
        private final Engine engine;
        private final HaInstance vrrp;
        private final boolean sync;
        private final EventLog events;
        private final java.util.concurrent.ScheduledExecutorService linkWatch;
        private volatile boolean serving = true;
        private volatile boolean link = true;
        private Boolean told; // guarded by this
        private java.util.concurrent.ScheduledFuture<?> settling; // guarded by this
        private volatile Role role;

        private HaWiring(Engine engine, HaInstance vrrp, boolean sync, EventLog events) {
            this.events = events;
            this.engine = engine;
            this.vrrp = vrrp;
            this.sync = sync;
            this.linkWatch = java.util.concurrent.Executors.newSingleThreadScheduledExecutor(r -> {
                Thread t = new Thread(r, "tiergate-director-ha-link");
                t.setDaemon(true);
                return t;
            });
        }

        static HaWiring start(Engine engine, HaInstance vrrp, boolean sync, EventLog events) {
            HaWiring w = new HaWiring(engine, vrrp, sync, events);
            VrrpConfig c = vrrp.config();
            engine.haStatus(w::status);
            vrrp.addListener(w::roleChanged);
            w.link = vrrp.linkUp();
            // Before start: an unhealthy director starts in FAULT instead of grabbing the VIPs for a moment.
            engine.onServing(ok -> {
                w.serving = ok;
                w.tell();
            }).join();
            w.tell();
            vrrp.start();
            long every = Math.max(20, Math.min(200, c.advertInterval().toMillis()));
            w.linkWatch.scheduleWithFixedDelay(w::checkLink, every, every, java.util.concurrent.TimeUnit.MILLISECONDS);
            log.info("director HA: VRRP vrid {} on {}, priority {}, VIPs {}; tables stay programmed in every role",
                    c.vrid(), c.interfaceName(), c.priority(), c.virtualAddresses());
            return w;
        }

        private void checkLink() {
            boolean up = vrrp.linkUp();
            if (up != link) {
                link = up;
                log.warn("director HA: interface {} is {}", vrrp.config().interfaceName(), up ? "up again" : "DOWN");
                tell();
            }
        }

        /**
         * Tells VRRP whether this director can serve, at once both ways. Going back to "can serve" after it could not
         * (its link came back, its real servers answer again) also holds preemption until every checked real server
         * is up again, or {@link Engine#settleTime} has passed: the first real server to pass its check would otherwise let a
         * higher-priority director preempt while the others are still marked down here, and flows pinned to those
         * would be hashed to another server and reset. With no master on the segment nothing is held: VRRP's own
         * Master_Down_Timer makes this director master as usual.
         */
        private synchronized void tell() {
            boolean ok = serving && link;
            if (!ok && settling != null) {
                settling.cancel(false);
                settling = null;
                vrrp.holdPreemption(false);
            }
            if (told != null && told == ok) {
                return;
            }
            boolean recovering = ok && told != null;
            told = ok;
            if (recovering) {
                vrrp.holdPreemption(true);
                long since = System.nanoTime();
                long maxMs = engine.settleTime().toMillis();
                log.info("director HA: can serve again; not preempting a master until every real server's check "
                        + "passes (at most {} ms)", maxMs);
                settling = linkWatch.scheduleWithFixedDelay(() -> settleTick(since, maxMs), 50, 100,
                        java.util.concurrent.TimeUnit.MILLISECONDS);
            }
            vrrp.setTrackedHealth(ok);
        }

        private void settleTick(long since, long maxMs) {
            long waited = (System.nanoTime() - since) / 1_000_000;
            List<String> down;
            try {
                down = engine.awaitingChecks().get(2, java.util.concurrent.TimeUnit.SECONDS);
            } catch (Exception e) {
                down = List.of("(engine status: " + e + ")");
            }
            synchronized (this) {
                if (settling == null || !(serving && link)) {
                    return;
                }
                if (down.isEmpty() || waited >= maxMs) {
                    settling.cancel(false);
                    settling = null;
                    vrrp.holdPreemption(false);
                    if (down.isEmpty()) {
                        log.info("director HA: every real server's check passed after {} ms; preempting allowed", waited);
                    } else {
                        log.warn("director HA: preempting allowed after {} ms although {} still not up", waited, down);
                    }
                }
            }
        }

        private void roleChanged(VrrpState from, VrrpState to) {
            String msg = "VRRP vrid " + vrrp.config().vrid() + ": " + from + " -> " + to;
            if (to == VrrpState.FAULT) {
                events.error("role", msg);
            } else {
                events.warn("role", msg);
            }
            Role next = to == VrrpState.MASTER ? Role.MASTER : Role.BACKUP;
            role = next;
            if (sync) {
                // An engine event; never joined here (this is VRRP's notify thread, the engine may be busy).
                engine.role(next).whenComplete((v, e) -> {
                    if (e != null) {
                        log.error("HA role {} could not be applied: {}", next, e.toString());
                    }
                });
            }
        }

        boolean healthy() {
            return serving && link;
        }

        HaStatus status() {
            VrrpStatus s = vrrp.status();
            VrrpConfig c = vrrp.config();
            Role r = role;
            return new HaStatus(s.vrid(), c.interfaceName(), s.state().name(), s.priority(), c.priority(),
                    s.master().map(VrrpConfig::text).orElse("-"), s.masterAdvertInterval().toMillis(),
                    s.roleChanges(), healthy(), r == null ? null : r.name(),
                    s.mismatches().stream().map(m -> new HaStatus.Mismatch(m.peer(), m.cause(), m.detail(), m.adverts(),
                            m.foreignMaster(), m.lastSeenAgo().toMillis())).toList(), s.mismatchTotals(), s.tracking(),
                    c.unicastPeers().stream().map(java.net.InetAddress::getHostAddress).toList(),
                    c.virtualAddresses().stream().map(Object::toString).toList());
        }

        void stop() {
            linkWatch.shutdownNow();
            vrrp.stop();
        }
    }

    /**
     * A new config in one engine step, then the {@code vrrp:} section: keys the running instance can take apply
     * live (no role change by themselves); a changed identity (interface, vrid, ...) restarts the instance; an
     * added section starts VRRP, a removed one stops it. The tables come first so a new VIP is served once owned.
     * (The sync daemon's setting stays as it was at start.)
     */
    public StepReport reload(DirectorConfig config) {
        try {
            StepReport r = join(engine.reload(config));
            if (r.error() != null) {
                events.error("reload", "config reloaded, but the dataplane change failed (retried): " + r.error());
            } else {
                events.info("reload", "config reloaded: " + config.services().size() + " service(s)");
            }
            return r;
        } catch (RuntimeException e) {
            events.error("reload", "reload failed: " + e.getMessage());
            throw e;
        } finally {
            reloadVrrp(config.vrrp());
            BgpSpeaker b = bgp;
            if (b != null) {
                b.prefixes(config.vipPrefixes());
                if (!config.bgp().equals(Optional.of(b.config()))) {
                    log.warn("bgp: the bgp section changed; the VIP list follows the services now, the rest of "
                            + "bgp (neighbors, AS, timers) applies at the next restart");
                }
            }
        }
    }

    private synchronized void reloadVrrp(Optional<VrrpConfig> next) {
        HaWiring running = ha;
        if (closed || (running == null && next.isEmpty())) {
            return;
        }
        if (running == null) {
            log.info("vrrp: section added: starting VRRP vrid {} on {}", next.get().vrid(), next.get().interfaceName());
            ha = startHa(next.get());
            return;
        }
        VrrpConfig old = running.vrrp.config();
        if (next.isEmpty()) {
            log.info("vrrp: section removed: stopping VRRP vrid {} (a master hands over with a priority-0 advert)",
                    old.vrid());
            ha = null;
            running.stop();
            engine.haStatus(() -> null);
            engine.onServing(ok -> { }).join();
            return;
        }
        Optional<String> restart = VrrpReload.restartReason(old, next.get());
        if (restart.isPresent()) {
            log.info("vrrp: {}: {}", restart.get(), VrrpReload.RESTARTING);
            running.stop();
            ha = startHa(next.get());
            return;
        }
        List<String> changes = VrrpReload.liveChanges(old, next.get());
        if (!changes.isEmpty()) {
            running.vrrp.reconfigure(next.get());
            changes.forEach(c -> log.info("vrrp: {}", c));
        }
    }

    /** Null (VRRP off, logged) when the new instance can't start: the old one is already gone by then. */
    private HaWiring startHa(VrrpConfig config) {
        try {
            return HaWiring.start(engine, haFactory.apply(config), sync, events);
        } catch (VrrpException | IllegalStateException e) {
            log.error("vrrp: cannot start VRRP vrid {} on {}: {}; VRRP is off until a reload or restart fixes it",
                    config.vrid(), config.interfaceName(), e.getMessage());
            engine.haStatus(() -> null);
            return null;
        }
    }

    /**
     * Called by HA on a VRRP transition: MASTER runs the IPVS connection sync daemon as master, BACKUP as backup
     * (only with {@code sync} configured and the ipvs dataplane; a no-op otherwise).
     */
    public void setRole(Role role) {
        join(engine.role(role));
    }

    public StepReport drain(String service, String realServer) {
        return join(engine.drain(service, realServer));
    }

    public StepReport enable(String service, String realServer) {
        return join(engine.enable(service, realServer));
    }

    /** BGP: withdraw every VIP ({@code tiergate director drain --all}); false without {@code director.bgp}. */
    public boolean drainAll() {
        BgpSpeaker b = bgp;
        if (b != null) {
            join(b.drainAll());
        }
        return b != null;
    }

    /** Undo {@link #drainAll()}. */
    public boolean enableAll() {
        BgpSpeaker b = bgp;
        if (b != null) {
            join(b.enableAll());
        }
        return b != null;
    }

    public DirectorStatus status() {
        return join(engine.status());
    }

    /** Config reload counters (tiergate_config_*), on the admin endpoint's /metrics when it runs. */
    public io.tiergate.shared.metrics.ReloadMetrics reloads() {
        return admin != null ? admin.meters().reloads() : noAdminReloads;
    }

    /**
     * Moves the admin endpoint to a reloaded {@code admin} address (new socket first, then the old one closes);
     * throws, leaving it where it was, when the new address cannot be bound. Only when the director runs one.
     */
    public void moveAdmin(io.tiergate.shared.config.HostPort to) throws Exception {
        if (admin == null) {
            throw new IllegalStateException("the admin endpoint is off: turning it on needs a restart");
        }
        admin.moveTo(to, engine);
    }

    /** The admin endpoint's port, or -1 when it is off. */
    public int adminPort() {
        return admin == null ? -1 : admin.port();
    }

    public Dataplane dataplane() {
        return dataplane;
    }

    private static <T> T join(java.util.concurrent.CompletableFuture<T> f) {
        try {
            return f.join();
        } catch (CompletionException e) {
            if (e.getCause() instanceof RuntimeException re) {
                throw re;
            }
            throw e;
        }
    }

    /** The VRRP state, or empty without {@code director.vrrp}. */
    public Optional<HaStatus> haStatus() {
        HaWiring h = ha;
        return h == null ? Optional.empty() : Optional.of(h.status());
    }

    /**
     * Stops forwarding decisions and probes; kernel state stays (a restart must not break established flows). With
     * VRRP the instance leaves the group first: priority 0 (the peer takes over after Skew_Time), VIPs removed. With
     * BGP every VIP is withdrawn first and the director waits {@code bgp.convergence_delay} before stopping, so the
     * routers have moved the flows to the other directors; BIRD stops last.
     */
    @Override
    public void close() {
        HaWiring h;
        BgpSpeaker b;
        synchronized (this) {
            closed = true;
            h = ha;
            ha = null;
            b = bgp;
            bgp = null;
        }
        if (h != null) {
            h.stop();
        }
        if (b != null) {
            // Withdraw, let the routers move the flows, then stop forwarding decisions.
            b.withdrawForShutdown();
        }
        if (admin != null) {
            admin.close();
        }
        health.close();
        engine.close();
        if (b != null) {
            b.close();
        }
    }

    /** Whether this process runs as root (uid 0). */
    public static boolean isRoot() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (line.startsWith("Uid:")) {
                    return line.split("\\s+")[2].equals("0");
                }
            }
        } catch (Exception e) {
            // not Linux
        }
        return false;
    }

    /**
     * Whether this process may program nftables and IPVS: CAP_NET_ADMIN (bit 12) in its effective capabilities. Root
     * has it; so has a non-root service given {@code AmbientCapabilities=CAP_NET_ADMIN}.
     */
    static boolean hasNetAdmin() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (line.startsWith("CapEff:")) {
                    return (Long.parseUnsignedLong(line.substring(7).trim(), 16) & (1L << 12)) != 0;
                }
            }
        } catch (Exception e) {
            // not Linux
        }
        return false;
    }
}
