package io.tiergate.cli;

import io.tiergate.shared.logging.Logging;
import io.tiergate.shared.metrics.ReloadMetrics;
import org.slf4j.Logger;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * One reload's outcome on either tier: what applied, which changed keys need a restart, what failed to apply; ends
 * as the one line a reload logs (INFO, or WARN when something did not apply) and as the reload counters.
 */
final class ReloadReport {
    final List<String> applied;
    final List<String> restart;
    final List<String> failed = new ArrayList<>();

    ReloadReport(List<String> applied, List<String> needsRestart) {
        this.applied = new ArrayList<>(applied);
        this.restart = new ArrayList<>(needsRestart);
    }

    /** The top-level keys both tiers share: {@code logging} applies now (before the line, which then follows it). */
    void sharedKeys(TiergateConfig was, TiergateConfig next) {
        if (!next.logging().equals(was.logging())) {
            Logging.configure(next.logging().format(), next.logging().level());
            applied.add("logging " + next.logging().format() + "/" + next.logging().level());
        }
        if (!next.metrics().equals(was.metrics())) {
            restart.add("metrics.latency_buckets");
        }
    }

    void log(Logger log, ReloadMetrics reloads, Path file) {
        String line = "reloaded " + file + ": " + (applied.isEmpty() ? "no changes" : String.join(", ", applied))
                + (restart.isEmpty() ? "" : "; needs restart: " + String.join(", ", restart));
        if (failed.isEmpty()) {
            reloads.succeeded();
            log.info("{}", line);
        } else {
            reloads.failed();
            log.warn("{}; not applied: {}", line, String.join("; ", failed));
        }
    }

    static String cause(Exception e) {
        Throwable c = e.getCause() == null ? e : e.getCause();
        return c.getMessage() == null ? c.toString() : c.getMessage();
    }
}
