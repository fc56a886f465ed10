package io.tiergate.proxy.upstream;

import io.tiergate.proxy.config.RetryPolicy;
import io.tiergate.proxy.config.UpstreamConfig;

import io.tiergate.shared.admin.EventLog;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;
import io.tiergate.shared.config.Units;
import io.tiergate.shared.runtime.LoopClock;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The runtime side of one {@code upstreams:} entry: its peers with their health and balancing state, and the retry
 * budget. It outlives a reload when the group's config did not change, so health and pools are kept.
 */
public final class UpstreamGroup {
    private static final Logger log = LoggerFactory.getLogger(UpstreamGroup.class);

    private final UpstreamConfig config;
    private final List<Peer> primaries = new ArrayList<>();
    private final List<Peer> backups = new ArrayList<>();
    private final Balancer balancer;
    private final AtomicInteger activeRequests = new AtomicInteger();
    private final AtomicInteger activeRetries = new AtomicInteger();
    // Without active checks the ejection is only logged. A peer is ejected at most once per fail_timeout (it sits
    // out that long), so this line is rate-limited per peer by construction.
    private volatile Consumer<Peer> ejectionListener = p -> log.warn(
            "upstream '{}' server {} ejected: {} failure(s) within {}; back in rotation after {}", name(), p.key(),
            p.config().maxFails(), Units.format(p.config().failTimeout()), Units.format(p.config().failTimeout()));
    private volatile EventLog events = new EventLog(1);
    private final java.util.concurrent.atomic.AtomicLong retries = new java.util.concurrent.atomic.AtomicLong();
    private final java.util.concurrent.atomic.AtomicLong retriesRefused = new java.util.concurrent.atomic.AtomicLong();

    public UpstreamGroup(UpstreamConfig config) {
        this.config = config;
        // nginx: with a single server, max_fails is ignored — ejecting it would only turn errors into 503s.
        boolean single = config.servers().size() == 1;
        for (UpstreamConfig.Server s : config.servers()) {
            (s.backup() ? backups : primaries).add(new Peer(single
                    ? new UpstreamConfig.Server(s.address(), s.weight(), 0, s.failTimeout(), s.backup()) : s));
        }
        this.balancer = Balancer.of(config.balance());
    }

    public UpstreamConfig config() {
        return config;
    }

    public String name() {
        return config.name();
    }

    public List<Peer> peers() {
        List<Peer> all = new ArrayList<>(primaries);
        all.addAll(backups);
        return Collections.unmodifiableList(all);
    }

    /**
     * Picks a peer not in {@code tried}: primaries first, backups only when no primary is available (nginx).
     * Returns null when none is left.
     */
    public Peer pick(Set<Peer> tried, String hashKey) {
        long now = LoopClock.nanoTime();
        synchronized (this) {
            Peer p = pickFrom(primaries, tried, hashKey, now);
            if (p == null) {
                p = pickFrom(backups, tried, hashKey, now);
            }
            if (p != null) {
                p.active.incrementAndGet();
            }
            return p;
        }
    }

    private Peer pickFrom(List<Peer> peers, Set<Peer> tried, String hashKey, long now) {
        // The usual case, every peer a candidate, picks from the group's own list: no list per request.
        int n = peers.size();
        int i = 0;
        while (i < n && !tried.contains(peers.get(i)) && peers.get(i).available(now)) {
            i++;
        }
        if (i == n) {
            return n == 0 ? null : balancer.pick(peers, hashKey);
        }
        List<Peer> candidates = new ArrayList<>(n);
        for (int j = 0; j < n; j++) {
            Peer p = peers.get(j);
            if (j < i || (!tried.contains(p) && p.available(now))) {
                candidates.add(p);
            }
        }
        return candidates.isEmpty() ? null : balancer.pick(candidates, hashKey);
    }

    /** How many peers are usable right now, for the "all servers down" message. */
    public int availableCount() {
        long now = LoopClock.nanoTime();
        int n = 0;
        for (Peer p : peers()) {
            if (p.available(now)) {
                n++;
            }
        }
        return n;
    }

    /**
     * Called (on an event loop; must not block) each time passive health ejects a peer. With active health checks
     * the node uses it to keep the peer out until its checks pass again (re-admission after success).
     */
    public void onEjection(Consumer<Peer> listener) {
        this.ejectionListener = listener;
    }

    /** Where ejections and health flips of this group's servers are told (the node's event log). */
    public void events(EventLog log) {
        this.events = log;
    }

    public EventLog events() {
        return events;
    }

    /** Ends an attempt on {@code peer}. A failure may take it out (returns true when it was just ejected). */
    public boolean release(Peer peer, boolean failed, long latencyNanos) {
        peer.active.decrementAndGet();
        peer.requests.incrementAndGet();
        if (failed) {
            peer.failures.incrementAndGet();
            boolean ejected = peer.recordFailure(LoopClock.nanoTime());
            if (ejected) {
                peer.ejections.incrementAndGet();
                events.warn("ejection", "upstream '" + name() + "' server " + peer.key() + " ejected after "
                        + peer.config().maxFails() + " failure(s) (out for " + peer.config().failTimeout().toSeconds()
                        + " s, or until its health checks pass)");
                ejectionListener.accept(peer);
            }
            return ejected;
        }
        peer.recordSuccess(latencyNanos);
        return false;
    }

    public void requestStarted() {
        activeRequests.incrementAndGet();
    }

    public void requestFinished() {
        activeRequests.decrementAndGet();
    }

    /**
     * Takes a retry slot when the budget allows: concurrent retries ≤ max(min, ratio × active requests).
     * The caller must {@link #retryFinished()} exactly once per granted slot.
     */
    public boolean tryStartRetry(RetryPolicy policy) {
        while (true) {
            int retries = activeRetries.get();
            double allowed = Math.max(policy.budgetMin(), policy.budgetRatio() * activeRequests.get());
            if (retries + 1 > allowed) {
                return false;
            }
            if (activeRetries.compareAndSet(retries, retries + 1)) {
                return true;
            }
        }
    }

    /** Counts for the status page (the Prometheus counters carry the reasons). */
    public void retried(boolean refused) {
        (refused ? retriesRefused : retries).incrementAndGet();
    }

    public long retries() {
        return retries.get();
    }

    public long retriesRefused() {
        return retriesRefused.get();
    }

    /** The server with this host:port key, or null. */
    public Peer peer(String key) {
        for (Peer p : peers()) {
            if (p.key().equals(key)) {
                return p;
            }
        }
        return null;
    }

    public void retryFinished() {
        activeRetries.decrementAndGet();
    }

    public int activeRequests() {
        return activeRequests.get();
    }
}
