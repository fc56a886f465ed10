package io.tiergate.proxy.config;

import io.tiergate.shared.config.ConfigMap;
import io.tiergate.shared.config.ConfigNode;

import java.time.Duration;
import java.util.EnumSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * When a failed attempt is tried again on another server. {@code tries} counts every attempt including the first;
 * {@code timeout} bounds the whole exchange across attempts. The budget caps concurrent retries of an upstream group
 * at {@code max(budgetMin, budgetRatio × active requests)} so a sick fleet does not get a retry storm.
 */
public record RetryPolicy(Set<RetryCondition> on, int tries, Duration timeout, boolean nonIdempotent,
                          double budgetRatio, int budgetMin) {

    public static final RetryPolicy DEFAULT = new RetryPolicy(
            EnumSet.of(RetryCondition.CONNECT_ERROR, RetryCondition.TIMEOUT, RetryCondition.RESET,
                    RetryCondition.HTTP_502, RetryCondition.HTTP_503, RetryCondition.HTTP_504),
            3, Duration.ofSeconds(30), false, 0.2, 3);

    public RetryPolicy {
        on = on.isEmpty() ? Set.of() : Set.copyOf(EnumSet.copyOf(on));
    }

    /** Whether a failure of this kind may be retried at all (before method and budget are considered). */
    public boolean retries(RetryCondition c) {
        return c != null && on.contains(c);
    }

    /** Reads a {@code retry:} mapping; absent keys inherit from {@code base}. */
    public static RetryPolicy parse(ConfigMap m, RetryPolicy base) {
        Set<RetryCondition> on = EnumSet.noneOf(RetryCondition.class);
        if (m.has("on")) {
            List<ConfigNode> items = m.list("on");
            for (ConfigNode n : items) {
                if (n instanceof ConfigNode.Scalar s && !s.isNull()) {
                    if (s.text().equals("off")) {
                        continue;
                    }
                    ConfigMap.enumOf(s, RetryCondition.class, m.problems()).ifPresent(on::add);
                } else {
                    m.problems().add(n, "is " + n.kind(), "a retry condition");
                }
            }
        } else {
            on.addAll(base.on());
        }
        int tries = m.integer("tries", base.tries(), 1, 20);
        Duration timeout = m.duration("timeout", base.timeout(), Duration.ofMillis(1));
        boolean nonIdempotent = m.bool("non_idempotent", base.nonIdempotent());
        double ratio = base.budgetRatio();
        int min = base.budgetMin();
        Optional<ConfigMap> budget = m.map("budget");
        if (budget.isPresent()) {
            ratio = budget.get().decimal("ratio", ratio, 0.0, 1.0);
            min = budget.get().integer("min", min, 0, 100_000);
            budget.get().finish();
        }
        m.finish();
        return new RetryPolicy(on, tries, timeout, nonIdempotent, ratio, min);
    }
}
