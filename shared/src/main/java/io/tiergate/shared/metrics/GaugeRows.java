package io.tiergate.shared.metrics;

import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.MultiGauge;
import io.micrometer.core.instrument.Tags;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.DoubleSupplier;

/**
 * One gauge with a row per set of tags, whose rows follow a changing set (the upstream servers after a reload, the
 * certificates after a renewal, the real servers of a service).
 *
 * <p>A row that stays keeps its meter; only what it reads changes. Micrometer's own way to replace rows
 * ({@code MultiGauge.register(rows, true)}) removes each meter and registers it again. A Prometheus scrape that runs
 * in that instant can see the old and the new meter of the same series and fails as a whole ("Duplicate labels",
 * HTTP 500 on /metrics). Rows whose tags are gone are removed; new ones are added.
 */
public final class GaugeRows {
    private final MultiGauge gauge;
    /** Row tags → what its meter reads now (guarded by this; the meters hold the cells). */
    private final Map<Tags, AtomicReference<DoubleSupplier>> cells = new HashMap<>();

    public GaugeRows(MeterRegistry registry, String name, String description) {
        this.gauge = MultiGauge.builder(name).description(description).register(registry);
    }

    /** Sets the rows to {@code rows}, each read live from its supplier at every scrape. */
    public synchronized void set(Map<Tags, ? extends DoubleSupplier> rows) {
        cells.keySet().retainAll(rows.keySet());
        List<MultiGauge.Row<?>> list = new ArrayList<>(rows.size());
        rows.forEach((tags, value) -> {
            AtomicReference<DoubleSupplier> cell = cells.computeIfAbsent(tags, t -> new AtomicReference<>());
            cell.set(value);
            list.add(MultiGauge.Row.of(tags, cell, c -> c.get().getAsDouble()));
        });
        gauge.register(list, false);
    }

    /** Sets the rows to fixed values. */
    public void setValues(Map<Tags, Double> values) {
        Map<Tags, DoubleSupplier> rows = new LinkedHashMap<>();
        values.forEach((tags, v) -> {
            double d = v;
            rows.put(tags, () -> d);
        });
        set(rows);
    }
}
