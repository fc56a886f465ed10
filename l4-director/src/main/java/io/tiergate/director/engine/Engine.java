package io.tiergate.director.engine;

import io.tiergate.director.config.DirectorConfig;
import io.tiergate.director.dataplane.Changeset;
import io.tiergate.director.dataplane.Dataplane;
import io.tiergate.director.dataplane.DataplaneException;
import io.tiergate.director.dataplane.DataplaneService;
import io.tiergate.director.dataplane.DestinationCounters;
import io.tiergate.director.model.RealServer;
import io.tiergate.director.model.ServiceKey;
import io.tiergate.director.model.VirtualService;
import io.tiergate.shared.health.HealthState;
import io.tiergate.shared.health.HealthTarget;
import io.tiergate.shared.health.HealthTransition;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.net.UnknownHostException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The single writer. One thread owns the dataplane; config snapshots, health transitions, operator drains, DNS
 * results and the periodic repair tick are events queued to it. Each event runs one step:
 * desired state → read the actual state back from the dataplane → diff → apply only what differs.
 *
 * <p>Nothing is flushed on start: the first step reads what a previous director left, and an identical service is
 * left untouched, so a restart breaks no established flow. The repair tick re-reads and re-applies, which undoes
 * {@code nft flush ruleset} or any other outside change.
 */
public final class Engine implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(Engine.class);

    private final ScheduledExecutorService thread;
    private final HealthMonitor monitor;
    private final Resolver resolver;
    private final AtomicLong steps = new AtomicLong();
    private final String dataplaneReason;

    // Engine thread only.
    private Dataplane dataplane;
    private volatile DirectorConfig config; // written by the engine thread; settleTime() reads it from others
    private final Map<String, HealthState> health = new HashMap<>();
    private final Set<String> drained = new HashSet<>();
    private final Map<String, List<String>> resolved = new HashMap<>();
    private final Map<String, HealthTarget> watched = new HashMap<>();
    /** Health ids of real servers that joined after the start step: out of rotation until their first verdict. */
    private final Set<String> pending = new HashSet<>();
    private boolean startStepDone; // engine thread only
    /** VIP prefix → when it became usable (engine thread): see {@link #servableVips}. */
    private final Map<String, Long> usableSince = new HashMap<>();
    private final Set<String> settledVips = new HashSet<>();
    private DesiredState lastDesired;
    /**
     * What the dataplane held after the last successful step. Steps between repair ticks start from it instead of a
     * kernel read: listing 1,000 Maglev services from nft takes seconds, and a health transition must land in
     * milliseconds. Start, repair ticks and any failure read the kernel again.
     */
    private Map<ServiceKey, String> known;
    private volatile String lastError = "";
    private volatile String startError;
    /** Delay before the next retry of a failed step; doubles up to {@link #MAX_BACKOFF_MS}. Engine thread only. */
    private long backoffMs = MIN_BACKOFF_MS;
    private boolean retryPending; // engine thread only
    private int failedSteps; // engine thread only: consecutive failures, for the "recovered" line
    static final long MIN_BACKOFF_MS = 500;
    static final long MAX_BACKOFF_MS = 30_000;
    private volatile boolean closed;
    private volatile io.tiergate.director.model.Role role;
    private volatile java.util.function.Consumer<Boolean> servingListener;
    private Boolean lastServing; // engine thread only
    private volatile java.util.function.Supplier<HaStatus> haStatus = () -> null;
    private volatile java.util.function.Supplier<BgpStatus> bgpStatus = () -> null;

    private Engine(DirectorConfig config, HealthMonitor monitor, Resolver resolver, String dataplaneReason) {
        this.config = Objects.requireNonNull(config, "config");
        this.monitor = Objects.requireNonNull(monitor, "monitor");
        this.resolver = Objects.requireNonNull(resolver, "resolver");
        this.dataplaneReason = dataplaneReason;
        this.thread = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "tiergate-director-engine");
            t.setDaemon(true);
            return t;
        });
    }

    /**
     * Creates the dataplane on the engine thread (so a dataplane that enters a network namespace does so on the thread
     * that will use it), runs the first step and starts the repair and re-resolve ticks.
     */
    public static Engine start(DirectorConfig config, Callable<Dataplane> dataplaneFactory, HealthMonitor monitor,
                               Resolver resolver, String dataplaneReason) throws DataplaneException {
        Engine e = new Engine(config, monitor, resolver, dataplaneReason);
        try {
            e.thread.submit(() -> {
                e.dataplane = dataplaneFactory.call();
                return null;
            }).get();
        } catch (Exception ex) {
            e.thread.shutdownNow();
            Throwable cause = ex.getCause() == null ? ex : ex.getCause();
            if (cause instanceof DataplaneException de) {
                throw de;
            }
            throw new DataplaneException("could not start the dataplane: " + cause.getMessage(), cause);
        }
        StepReport first = e.submit("start", () -> {
        }).join();
        // Not logged here: the caller decides whether a failed first step ends the process (the CLI) or is retried.
        e.startError = first.error();
        if (config.sync().isPresent()) {
            e.role(io.tiergate.director.model.Role.BACKUP).join();
        }
        long repairMs = config.repairInterval().toMillis();
        e.thread.scheduleWithFixedDelay(() -> e.stepNow("repair"), repairMs, repairMs, TimeUnit.MILLISECONDS);
        long resolveMs = config.resolveInterval().toMillis();
        e.thread.scheduleWithFixedDelay(e::refreshNames, resolveMs, resolveMs, TimeUnit.MILLISECONDS);
        return e;
    }

    /** The first step's error (the dataplane could not be programmed at start), or null when it applied. */
    public String startError() {
        return startError;
    }

    /**
     * Ready to take traffic, for {@code /readyz}: started, the dataplane's last change applied, and VRRP (when
     * configured) not in FAULT. Safe from any thread.
     */
    public boolean ready() {
        if (!lastError.isEmpty() || lastDesired == null || closed) {
            return false;
        }
        try {
            HaStatus ha = haStatus.get();
            return ha == null || !"FAULT".equals(ha.state());
        } catch (RuntimeException e) {
            return false;
        }
    }

    public DataplaneKindView dataplane() {
        return new DataplaneKindView(dataplane.kind().configName(), dataplaneReason);
    }

    /** Name of the running dataplane and why it was chosen. */
    public record DataplaneKindView(String name, String reason) {
    }

    public CompletableFuture<StepReport> reload(DirectorConfig next) {
        return submit("reload", () -> {
            boolean syncChanged = !next.sync().equals(config.sync());
            config = next.withDataplane(config.dataplane());
            if (syncChanged && role != null) {
                applyRole();
            }
        });
    }

    /**
     * The HA role (from VRRP): the ipvs dataplane runs its connection sync daemon as master or backup. A director with
     * {@code sync} configured starts as BACKUP (it only listens) until HA says otherwise.
     */
    public CompletableFuture<Void> role(io.tiergate.director.model.Role next) {
        return call(() -> {
            role = next;
            applyRole();
            return null;
        });
    }

    public io.tiergate.director.model.Role role() {
        return role;
    }

    /**
     * Whether this director can serve: the dataplane's last step applied (no error) and at least one service has its
     * quorum met with a real server of weight &gt; 0 (a sorry server does not count). HA tracks it: an unhealthy
     * director gives up the VIPs (FAULT) or advertises a lower priority. {@code listener} gets the current value at
     * once and then every change, on the engine thread.
     */
    public CompletableFuture<Void> onServing(java.util.function.Consumer<Boolean> listener) {
        return call(() -> {
            servingListener = listener;
            lastServing = serving();
            listener.accept(lastServing);
            return null;
        });
    }

    /** Where {@link #status()} gets the HA part from (VRRP state); returns null when there is no HA. */
    public void haStatus(java.util.function.Supplier<HaStatus> source) {
        haStatus = Objects.requireNonNull(source, "source");
    }

    /** Where {@link #status()} gets the BGP part from; returns null when there is no BGP. */
    public void bgpStatus(java.util.function.Supplier<BgpStatus> source) {
        bgpStatus = Objects.requireNonNull(source, "source");
    }

    /**
     * The VIPs this director can serve now, as {@code vip/32} or {@code vip/128} prefixes: a service on the VIP has its
     * quorum met and a real server of weight &gt; 0 in the dataplane whose check said up (or that is not checked), and
     * either every checked real server of the VIP's services is up, or that has been so for {@link #healthSettle}.
     * The second half is for ECMP: announcing a VIP draws a share of the flows already open through the other
     * directors, and one pinned to a server this director still has down would be hashed elsewhere and reset — so a
     * director that starts, or comes back, announces once its checks have caught up (or stopped mattering).
     * Empty while the dataplane's last change failed. Cheap (no kernel read): BGP polls it.
     */
    public CompletableFuture<java.util.Set<String>> servableVips() {
        return call(() -> {
            java.util.Set<String> usable = new java.util.LinkedHashSet<>();
            java.util.Set<String> incomplete = new HashSet<>();
            if (!lastError.isEmpty() || lastDesired == null) {
                usableSince.clear();
                settledVips.clear();
                return usable;
            }
            for (ServiceStatus s : lastDesired.status) {
                if (s.key().byFwmark()) {
                    continue;
                }
                String prefix = s.key().vip() + (s.key().vip().indexOf(':') >= 0 ? "/128" : "/32");
                // Stricter than serving(): "unknown" (not probed yet) does not count, so a director that starts
                // without reaching its real servers never draws flows from the routers, not even briefly.
                if (s.quorumMet() && s.realServers().stream().anyMatch(r -> !r.sorry()
                        && r.inDataplane() && r.effectiveWeight() > 0 && !r.health().equals("unknown"))) {
                    usable.add(prefix);
                }
                if (s.realServers().stream().anyMatch(Engine::awaitingCheck)) {
                    incomplete.add(prefix);
                }
            }
            long now = System.nanoTime();
            long settleNanos = settleTime().toNanos();
            usableSince.keySet().retainAll(usable);
            settledVips.retainAll(usable);
            java.util.Set<String> out = new java.util.LinkedHashSet<>();
            for (String p : usable) {
                long since = usableSince.computeIfAbsent(p, k -> now);
                // Once settled a VIP stays servable while usable: a server failing later is not a reason to leave.
                if (settledVips.contains(p) || !incomplete.contains(p) || now - since >= settleNanos) {
                    settledVips.add(p);
                    out.add(p);
                }
            }
            return out;
        });
    }

    /** A checked real server whose check has not passed (yet): down, unknown or pending. */
    private static boolean awaitingCheck(ServiceStatus.RealServerStatus r) {
        return !r.sorry() && !r.health().equals("up") && !r.health().equals("unchecked");
    }

    /**
     * The checked real servers whose check has not passed, as {@code service/address:port}; empty once every check
     * has caught up. From the last step's view (no kernel read): VRRP polls it while it holds preemption.
     */
    public CompletableFuture<List<String>> awaitingChecks() {
        return call(() -> {
            List<String> out = new ArrayList<>();
            for (ServiceStatus s : lastDesired == null ? List.<ServiceStatus>of() : lastDesired.status) {
                for (ServiceStatus.RealServerStatus r : s.realServers()) {
                    if (awaitingCheck(r)) {
                        out.add(s.name() + "/" + r.id());
                    }
                }
            }
            return out;
        });
    }

    /** {@link #healthSettle} of the config in use. Engine thread (servableVips) or any thread (a volatile read). */
    public java.time.Duration settleTime() {
        return healthSettle(config);
    }

    /**
     * How long a director waits for every real server's check to pass before it draws traffic it could not take
     * before (VRRP preemption after FAULT, a BGP announcement): five rounds of the slowest check's
     * rise × interval + timeout, at least 2 s, at most 30 s.
     */
    public static java.time.Duration healthSettle(DirectorConfig config) {
        long ms = 0;
        for (VirtualService vs : config.services()) {
            for (io.tiergate.director.model.RealServer rs : vs.realServers()) {
                if (rs.healthCheck().isPresent()) {
                    var c = rs.healthCheck().get();
                    ms = Math.max(ms, c.rise() * c.interval().toMillis() + c.timeout().toMillis());
                }
            }
        }
        return java.time.Duration.ofMillis(Math.min(30_000, Math.max(2_000, 5 * ms)));
    }

    /** Why nothing can be served: the dataplane error, or empty. */
    public String lastError() {
        return lastError;
    }

    private boolean serving() {
        if (!lastError.isEmpty() || lastDesired == null) {
            return false;
        }
        for (ServiceStatus s : lastDesired.status) {
            if (s.quorumMet() && s.realServers().stream().anyMatch(r -> !r.sorry() && r.inDataplane()
                    && r.effectiveWeight() > 0)) {
                return true;
            }
        }
        return false;
    }

    private void tellServing() {
        java.util.function.Consumer<Boolean> l = servingListener;
        if (l == null) {
            return;
        }
        boolean now = serving();
        if (lastServing == null || lastServing != now) {
            lastServing = now;
            String why = now ? "a service can take traffic"
                    : lastError.isEmpty() ? "no service has a usable real server (quorum not met)"
                    : "the dataplane's last change failed: " + lastError;
            if (now) {
                log.info("director healthy: {}", why);
            } else {
                log.warn("director UNHEALTHY: {}", why);
            }
            try {
                l.accept(now);
            } catch (RuntimeException e) {
                log.error("serving listener failed", e);
            }
        }
    }

    private void applyRole() {
        try {
            dataplane.role(role, config.sync());
        } catch (DataplaneException e) {
            lastError = e.getMessage();
            log.error("HA role {}: {}", role, e.getMessage());
        }
        tellServing();
    }

    public CompletableFuture<StepReport> onHealth(HealthTransition t) {
        return submit("health " + t.targetId() + " " + t.to(), () -> {
            if (watched.containsKey(t.targetId())) {
                health.put(t.targetId(), t.to());
                pending.remove(t.targetId());
            }
        });
    }

    /** Weight 0 for new connections; established ones continue. {@code realServer} as configured or address:port. */
    public CompletableFuture<StepReport> drain(String service, String realServer) {
        return submit("drain " + service + " " + realServer, () -> drained.add(drainKey(service, realServer)));
    }

    public CompletableFuture<StepReport> enable(String service, String realServer) {
        return submit("enable " + service + " " + realServer, () -> drained.remove(drainKey(service, realServer)));
    }

    public CompletableFuture<StepReport> repair() {
        return submit("repair", () -> {
        });
    }

    public CompletableFuture<DirectorStatus> status() {
        return call(() -> {
            Map<ServiceKey, Map<String, DestinationCounters>> counters = dataplane.counters();
            List<ServiceStatus> services = new ArrayList<>();
            for (ServiceStatus s : lastDesired == null ? List.<ServiceStatus>of() : lastDesired.status) {
                Map<String, DestinationCounters> c = counters.getOrDefault(s.key(), Map.of());
                List<ServiceStatus.RealServerStatus> rows = new ArrayList<>();
                for (ServiceStatus.RealServerStatus r : s.realServers()) {
                    DestinationCounters d = c.getOrDefault(r.id(), DestinationCounters.NONE);
                    rows.add(new ServiceStatus.RealServerStatus(r.id(), r.configured(), r.weight(), r.effectiveWeight(),
                            r.health(), r.drained(), r.inDataplane(), r.sorry(), d.activeConnections(),
                            d.inactiveConnections(), d.connections(), d.packetsIn(), d.packetsOut(), d.bytesIn(),
                            d.bytesOut()));
                }
                services.add(new ServiceStatus(s.name(), s.key(), s.scheduler(), s.method(), s.quorum(), s.quorumMet(),
                        s.sorryActive(), s.sorryServer(), List.copyOf(rows)));
            }
            HaStatus ha = null;
            try {
                ha = haStatus.get();
            } catch (RuntimeException e) {
                log.warn("HA status unavailable: {}", e.toString());
            }
            BgpStatus bgp = null;
            try {
                bgp = bgpStatus.get();
            } catch (RuntimeException e) {
                log.warn("BGP status unavailable: {}", e.toString());
            }
            return new DirectorStatus(dataplane.kind().configName(), dataplaneReason, steps.get(), lastError,
                    List.copyOf(services), ha, bgp);
        });
    }

    private String drainKey(String service, String realServer) {
        VirtualService vs = config.service(service).orElseThrow(() -> new UnknownRealServerException(
                "no service '" + service + "' (services: " + String.join(", ",
                        config.services().stream().map(VirtualService::name).toList()) + ")"));
        if (vs.realServer(realServer).isPresent()) {
            return service + "/" + realServer;
        }
        for (List<Member> ms : members().values()) {
            for (Member m : ms) {
                if (m.service().name().equals(service) && m.destinationId().equals(realServer)) {
                    return m.healthId();
                }
            }
        }
        throw new UnknownRealServerException("service '" + service + "' has no real server '" + realServer
                + "' (real servers: " + String.join(", ", vs.realServers().stream().map(RealServer::id).toList()) + ")");
    }

    private <T> CompletableFuture<T> call(Callable<T> c) {
        CompletableFuture<T> f = new CompletableFuture<>();
        if (closed) {
            f.completeExceptionally(new IllegalStateException("the director is closed"));
            return f;
        }
        thread.execute(() -> {
            try {
                f.complete(c.call());
            } catch (Throwable t) {
                f.completeExceptionally(t);
            }
        });
        return f;
    }

    private CompletableFuture<StepReport> submit(String cause, Runnable mutation) {
        return call(() -> {
            mutation.run();
            return step(cause);
        });
    }

    private void stepNow(String cause) {
        try {
            step(cause);
        } catch (RuntimeException e) {
            log.error("engine step '{}' failed", cause, e);
        }
    }

    private StepReport step(String cause) {
        try {
            return stepOnce(cause);
        } finally {
            tellServing();
        }
    }

    private StepReport stepOnce(String cause) {
        long t0 = System.nanoTime();
        steps.incrementAndGet();
        Map<String, List<Member>> members = members();
        syncHealth(members);
        startStepDone = true;
        DesiredState desired = DesiredState.compute(config.services(), members, health, drained, pending);
        lastDesired = desired;
        try {
            boolean fullRead = known == null || cause.equals("start") || cause.equals("repair");
            Map<ServiceKey, String> actual = fullRead ? dataplane.read() : known;
            Changeset changes = diff(desired.services, actual);
            known = null; // unknown until the apply below succeeds
            if (!changes.isEmpty()) {
                dataplane.apply(changes);
                long ms = (System.nanoTime() - t0) / 1_000_000;
                log.info("{}: applied {} upsert(s), {} delete(s) in {} ms", cause, changes.upserts().size(),
                        changes.deletes().size(), ms);
            }
            Map<ServiceKey, String> now = new LinkedHashMap<>(actual);
            changes.deletes().forEach(now::remove);
            changes.upserts().forEach(u -> now.put(u.key(), u.fingerprint()));
            known = now;
            if (!lastError.isEmpty() && failedSteps > 0) {
                log.info("{}: the dataplane applies again after {} failed attempt(s)", cause, failedSteps);
            }
            lastError = "";
            failedSteps = 0;
            backoffMs = MIN_BACKOFF_MS;
            return new StepReport(cause, changes.upserts().size(), changes.deletes().size(), System.nanoTime() - t0,
                    null);
        } catch (DataplaneException e) {
            String error = e.getMessage();
            // Once per distinct cause: a VIP that stays unbindable would otherwise log the same line every retry.
            // The failed first step is the caller's to report (the CLI ends the process with it).
            if (!error.equals(lastError) && !cause.equals("start")) {
                log.error("{}: dataplane change failed (retrying with backoff, /readyz fails until it applies): {}",
                        cause, error);
            } else {
                log.debug("{}: dataplane change failed again: {}", cause, error);
            }
            lastError = error;
            failedSteps++;
            scheduleRetry();
            return new StepReport(cause, 0, 0, System.nanoTime() - t0, error);
        }
    }

    /** A retry step after the current backoff (500 ms doubling to 30 s), besides the regular repair tick. */
    private void scheduleRetry() {
        if (retryPending || closed) {
            return;
        }
        retryPending = true;
        long delay = backoffMs;
        backoffMs = Math.min(MAX_BACKOFF_MS, backoffMs * 2);
        try {
            thread.schedule(() -> {
                retryPending = false;
                if (!lastError.isEmpty() && !closed) {
                    stepNow("retry");
                }
            }, delay, TimeUnit.MILLISECONDS);
        } catch (java.util.concurrent.RejectedExecutionException e) {
            retryPending = false; // shutting down
        }
    }

    /** The minimal change: services whose fingerprint differs, and services the config no longer has. */
    static Changeset diff(Map<ServiceKey, DataplaneService> desired, Map<ServiceKey, String> actual) {
        List<DataplaneService> upserts = new ArrayList<>();
        for (DataplaneService s : desired.values()) {
            if (!s.fingerprint().equals(actual.get(s.key()))) {
                upserts.add(s);
            }
        }
        List<ServiceKey> deletes = new ArrayList<>();
        for (ServiceKey k : actual.keySet()) {
            if (!desired.containsKey(k)) {
                deletes.add(k);
            }
        }
        deletes.sort(null);
        return new Changeset(upserts, deletes);
    }

    private Map<String, List<Member>> members() {
        Map<String, List<Member>> out = new LinkedHashMap<>();
        for (VirtualService vs : config.services()) {
            List<Member> ms = new ArrayList<>();
            for (RealServer rs : vs.realServers()) {
                for (String addr : addresses(rs.address().host())) {
                    ms.add(new Member(vs, rs, addr, rs.address().port()));
                }
            }
            out.put(vs.name(), ms);
        }
        return out;
    }

    private List<String> addresses(String host) {
        if (Resolver.isLiteral(host)) {
            return List.of(host);
        }
        List<String> known = resolved.get(host);
        if (known == null) {
            known = lookup(host);
            resolved.put(host, known);
        }
        return known;
    }

    private List<String> lookup(String host) {
        try {
            return resolver.resolve(host);
        } catch (UnknownHostException e) {
            log.warn("real server host '{}' does not resolve; it has no members until it does", host);
            return List.of();
        }
    }

    /** Re-resolves every name; a changed answer is one more step. Lookups run on the engine thread, bounded by DNS timeouts. */
    private void refreshNames() {
        boolean changed = false;
        for (Map.Entry<String, List<String>> e : resolved.entrySet()) {
            List<String> now = lookup(e.getKey());
            if (!now.equals(e.getValue())) {
                log.info("real server host '{}' now resolves to {}", e.getKey(), now);
                e.setValue(now);
                changed = true;
            }
        }
        if (changed) {
            stepNow("dns");
        }
    }

    private void syncHealth(Map<String, List<Member>> members) {
        Map<String, HealthTarget> want = new HashMap<>();
        for (List<Member> ms : members.values()) {
            for (Member m : ms) {
                m.server().healthCheck().ifPresent(c -> want.put(m.healthId(),
                        HealthTarget.of(m.healthId(), m.address(), m.port(), c)));
            }
        }
        for (String id : new ArrayList<>(watched.keySet())) {
            if (!want.containsKey(id)) {
                watched.remove(id);
                health.remove(id);
                pending.remove(id);
                monitor.unwatch(id);
            }
        }
        for (HealthTarget t : want.values()) {
            HealthTarget old = watched.get(t.id());
            if (!t.equals(old)) {
                watched.put(t.id(), t);
                if (old != null) {
                    health.remove(t.id());
                } else if (startStepDone) {
                    pending.add(t.id());
                }
                monitor.watch(t);
            }
        }
    }

    /** Stops the engine and releases the dataplane handle; the kernel keeps what was programmed. */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        try {
            thread.submit(() -> {
                monitor.close();
                if (dataplane != null) {
                    dataplane.close();
                }
            }).get(10, TimeUnit.SECONDS);
        } catch (Exception e) {
            log.warn("closing the dataplane: {}", e.toString());
        }
        thread.shutdownNow();
    }
}
