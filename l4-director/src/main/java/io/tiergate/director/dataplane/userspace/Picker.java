package io.tiergate.director.dataplane.userspace;

import io.tiergate.director.model.Persistence;
import io.tiergate.director.model.Scheduler;
import io.tiergate.shared.maglev.MaglevTable;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Picks a backend for a new connection with one of the ipvsadm schedulers, honouring persistence. Immutable
 * except for scheduler state; replaced whole when the service changes. Called from any event loop.
 */
final class Picker {
    private final Scheduler scheduler;
    private final List<Backend> all;
    private final List<Backend> usable;
    private final MaglevTable maglev;
    private final Persistence persistence;
    private final ConcurrentHashMap<String, Affinity> affinity;
    private final AtomicLong next = new AtomicLong();

    private record Affinity(Backend backend, long expiresNanos) {
    }

    Picker(Scheduler scheduler, List<Backend> backends, Persistence persistence, Picker previous) {
        this.scheduler = scheduler;
        this.all = List.copyOf(backends);
        List<Backend> u = new ArrayList<>();
        for (Backend b : backends) {
            if (b.weight > 0) {
                u.add(b);
            }
        }
        this.usable = List.copyOf(u);
        this.persistence = persistence;
        // Keep client affinity across a reconfiguration of the same service.
        this.affinity = previous != null ? previous.affinity : new ConcurrentHashMap<>();
        if (scheduler == Scheduler.SOURCE_HASH || scheduler == Scheduler.MAGLEV) {
            List<MaglevTable.Backend> mb = new ArrayList<>();
            for (Backend b : backends) {
                mb.add(MaglevTable.Backend.of(b.id, b.weight));
            }
            this.maglev = MaglevTable.build(mb);
        } else {
            this.maglev = null;
        }
    }

    List<Backend> backends() {
        return all;
    }

    /** A backend for {@code client}, skipping {@code exclude} (backends that just refused); null when none is left. */
    Backend pick(InetSocketAddress client, Set<Backend> exclude) {
        String affinityKey = null;
        if (persistence.enabled() && client != null) {
            affinityKey = masked(client.getAddress(), persistence.prefixLength());
            Affinity a = affinity.get(affinityKey);
            long now = System.nanoTime();
            if (a != null && a.expiresNanos > now && a.backend.weight > 0 && !exclude.contains(a.backend)
                    && usable.contains(a.backend)) {
                affinity.put(affinityKey, new Affinity(a.backend, now + persistence.timeout().toNanos()));
                return a.backend;
            }
        }
        Backend b = choose(client, exclude);
        if (b != null && affinityKey != null) {
            affinity.put(affinityKey, new Affinity(b, System.nanoTime() + persistence.timeout().toNanos()));
            if (affinity.size() > 100_000) {
                long now = System.nanoTime();
                affinity.values().removeIf(x -> x.expiresNanos < now);
            }
        }
        return b;
    }

    private Backend choose(InetSocketAddress client, Set<Backend> exclude) {
        List<Backend> candidates = usable;
        if (!exclude.isEmpty()) {
            candidates = new ArrayList<>(usable);
            candidates.removeAll(exclude);
        }
        if (candidates.isEmpty()) {
            return null;
        }
        return switch (scheduler) {
            case ROUND_ROBIN -> candidates.get((int) Math.floorMod(next.getAndIncrement(), (long) candidates.size()));
            case WEIGHTED_ROUND_ROBIN -> smoothWeighted(candidates);
            case LEAST_CONNECTION -> leastBy(candidates, b -> b.active.get());
            case WEIGHTED_LEAST_CONNECTION -> leastBy(candidates, b -> (double) b.active.get() / b.weight);
            case SHORTEST_EXPECTED_DELAY -> leastBy(candidates, b -> (b.active.get() + 1.0) / b.weight);
            case NEVER_QUEUE -> {
                for (Backend b : rotate(candidates)) {
                    if (b.active.get() == 0) {
                        yield b;
                    }
                }
                yield leastBy(candidates, b -> (b.active.get() + 1.0) / b.weight);
            }
            case SOURCE_HASH, MAGLEV -> {
                String key = client == null ? "" : scheduler == Scheduler.SOURCE_HASH
                        ? client.getAddress().getHostAddress()
                        : client.getAddress().getHostAddress() + ":" + client.getPort();
                Backend b = byKey(maglev.lookupKey(MaglevTable.hash64(key.getBytes(java.nio.charset.StandardCharsets.UTF_8))));
                // A hash may land on an excluded backend: fall back to the next usable one, deterministically.
                yield b != null && candidates.contains(b) ? b : candidates.get(0);
            }
        };
    }

    private Backend byKey(String id) {
        if (id == null) {
            return null;
        }
        for (Backend b : all) {
            if (b.id.equals(id)) {
                return b;
            }
        }
        return null;
    }

    private List<Backend> rotate(List<Backend> c) {
        int start = (int) Math.floorMod(next.getAndIncrement(), (long) c.size());
        List<Backend> out = new ArrayList<>(c.size());
        for (int i = 0; i < c.size(); i++) {
            out.add(c.get((start + i) % c.size()));
        }
        return out;
    }

    /** Lowest score; ties rotate so equal servers share new connections instead of the first always winning. */
    private Backend leastBy(List<Backend> c, java.util.function.ToDoubleFunction<Backend> score) {
        Backend best = null;
        double bestScore = Double.MAX_VALUE;
        for (Backend b : rotate(c)) {
            double s = score.applyAsDouble(b);
            if (s < bestScore) {
                best = b;
                bestScore = s;
            }
        }
        return best;
    }

    /** nginx's smooth weighted round robin: weights 5,1,1 give a,a,b,a,c,a,a — spread out, not bursts. */
    private synchronized Backend smoothWeighted(List<Backend> c) {
        long total = 0;
        Backend best = null;
        for (Backend b : c) {
            b.currentWeight += b.weight;
            total += b.weight;
            if (best == null || b.currentWeight > best.currentWeight) {
                best = b;
            }
        }
        best.currentWeight -= total;
        return best;
    }

    static String masked(InetAddress a, int prefix) {
        byte[] bytes = a.getAddress();
        int bits = bytes.length == 4 ? prefix : prefix + 96; // the prefix is given for IPv4; keep /128 semantics for v6
        for (int i = 0; i < bytes.length; i++) {
            int keep = Math.max(0, Math.min(8, bits - i * 8));
            bytes[i] &= (byte) (0xFF << (8 - keep));
        }
        try {
            return InetAddress.getByAddress(bytes).getHostAddress();
        } catch (java.net.UnknownHostException e) {
            throw new IllegalStateException(e);
        }
    }
}
