package io.tiergate.proxy.upstream;

import io.tiergate.proxy.config.Balance;
import io.tiergate.shared.maglev.MaglevTable;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Picks one of the candidate peers (already filtered to available, untried ones; never empty). Called under the
 * group's lock, so implementations may keep plain mutable state.
 */
interface Balancer {
    Peer pick(List<Peer> candidates, String hashKey);

    static Balancer of(Balance balance) {
        return switch (balance) {
            case ROUND_ROBIN -> Balancer::smoothWeighted;
            case LEAST_CONN -> Balancer::leastConn;
            case P2C_EWMA -> Balancer::p2c;
            case HASH -> new Hash();
        };
    }

    /**
     * nginx's smooth weighted round robin: every pick adds each weight to its peer's current weight, takes the
     * largest, and subtracts the total from it. Weights 5,1,1 give a,a,b,a,c,a,a — spread, not bunched.
     */
    static Peer smoothWeighted(List<Peer> candidates, String ignored) {
        Peer best = null;
        int total = 0;
        for (Peer p : candidates) {
            p.currentWeight += p.weight();
            total += p.weight();
            if (best == null || p.currentWeight > best.currentWeight) {
                best = p;
            }
        }
        best.currentWeight -= total;
        return best;
    }

    /** Fewest active requests per unit of weight; ties share by smooth weighted round robin. */
    static Peer leastConn(List<Peer> candidates, String ignored) {
        List<Peer> ties = new ArrayList<>(candidates.size());
        Peer best = null;
        for (Peer p : candidates) {
            if (best == null) {
                best = p;
                ties.add(p);
                continue;
            }
            long lhs = (long) p.active() * best.weight();
            long rhs = (long) best.active() * p.weight();
            if (lhs < rhs) {
                best = p;
                ties.clear();
                ties.add(p);
            } else if (lhs == rhs) {
                ties.add(p);
            }
        }
        return ties.size() == 1 ? best : smoothWeighted(ties, null);
    }

    /**
     * Two random choices, keep the one with the lower EWMA latency × (outstanding + 1). A peer without samples
     * scores 0 so new or re-admitted servers get probed.
     */
    static Peer p2c(List<Peer> candidates, String ignored) {
        int n = candidates.size();
        if (n == 1) {
            return candidates.get(0);
        }
        ThreadLocalRandom r = ThreadLocalRandom.current();
        int i = r.nextInt(n);
        int j = r.nextInt(n - 1);
        if (j >= i) {
            j++;
        }
        Peer a = candidates.get(i);
        Peer b = candidates.get(j);
        return score(a) <= score(b) ? a : b;
    }

    private static double score(Peer p) {
        return p.ewmaNanos() * (p.active() + 1);
    }

    /**
     * Consistent hashing on a Maglev table of the candidates (rebuilt only when the candidate set changes), so a
     * server going down moves only its own keys. Without a key it falls back to round robin.
     */
    final class Hash implements Balancer {
        private List<Peer> builtFor = List.of();
        private MaglevTable table;

        @Override
        public Peer pick(List<Peer> candidates, String hashKey) {
            if (hashKey == null) {
                return smoothWeighted(candidates, null);
            }
            if (!candidates.equals(builtFor)) {
                List<MaglevTable.Backend> backends = new ArrayList<>();
                for (Peer p : candidates) {
                    backends.add(MaglevTable.Backend.of(p.key(), p.weight()));
                }
                table = MaglevTable.build(backends);
                builtFor = List.copyOf(candidates);
            }
            String key = table.lookupKey(MaglevTable.hash64(hashKey.getBytes(StandardCharsets.UTF_8)));
            for (Peer p : candidates) {
                if (p.key().equals(key)) {
                    return p;
                }
            }
            return candidates.get(0);
        }
    }
}
