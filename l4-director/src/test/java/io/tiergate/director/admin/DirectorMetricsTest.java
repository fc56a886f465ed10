package io.tiergate.director.admin;

import io.tiergate.director.engine.DirectorStatus;
import io.tiergate.shared.metrics.Metrics;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;

import static org.assertj.core.api.Assertions.assertThat;

class DirectorMetricsTest {
    /**
     * The admin endpoint refreshes the gauges once a second while Prometheus scrapes whenever it likes. Found by the
     * operations drill: a scrape that met a refresh failed with "Duplicate labels" (HTTP 500), because every
     * refresh re-registered every row. Here refreshes run back to back under continuous scrapes.
     */
    @Test
    void scrapesDuringRefreshesNeverFailAndReadTheLatestValues() throws Exception {
        Metrics metrics = new Metrics(java.util.Map.of("tier", "director"));
        DirectorMetrics gauges = new DirectorMetrics(metrics.registry());
        gauges.update(StatusTableTest.status(1));
        AtomicBoolean stop = new AtomicBoolean();
        List<Throwable> failures = java.util.Collections.synchronizedList(new ArrayList<>());
        Thread refresher = new Thread(() -> {
            for (long i = 0; !stop.get(); i++) {
                DirectorStatus s = StatusTableTest.status(i);
                gauges.update(i % 2 == 0 ? s
                        : new DirectorStatus(s.dataplane(), s.dataplaneReason(), i, "boom", s.services(), null));
            }
        });
        refresher.start();
        long end = System.nanoTime() + 2_000_000_000L;
        int scrapes = 0;
        try {
            while (System.nanoTime() < end) {
                try {
                    metrics.scrape();
                    scrapes++;
                } catch (RuntimeException e) {
                    failures.add(e);
                }
            }
        } finally {
            stop.set(true);
            refresher.join(5000);
        }
        assertThat(failures).as("failed scrapes out of " + (scrapes + failures.size())).isEmpty();
        gauges.update(new DirectorStatus("userspace", "configured", 9, "boom", StatusTableTest.status(0).services(), null));
        assertThat(metrics.scrape()).contains("tiergate_director_dataplane_healthy{tier=\"director\"} 0.0")
                .contains("tiergate_director_dataplane_selected{dataplane=\"userspace\",tier=\"director\"} 1.0");
    }
}
