package io.tiergate.director.dataplane.fake;

import io.tiergate.director.dataplane.Changeset;
import io.tiergate.director.dataplane.Dataplane;
import io.tiergate.director.dataplane.DataplaneException;
import io.tiergate.director.dataplane.DataplaneKind;
import io.tiergate.director.dataplane.DataplaneService;
import io.tiergate.director.dataplane.DestinationCounters;
import io.tiergate.director.model.ServiceKey;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * An in-memory "kernel" for engine tests. It keeps its table across engine instances when shared (like the kernel
 * survives a director restart), records every changeset, can lose its state ({@link #flush()}, like
 * {@code nft flush ruleset}) and can be told to fail the next apply.
 */
public final class FakeDataplane implements Dataplane {
    private final Map<ServiceKey, DataplaneService> table = new ConcurrentHashMap<>();
    private final List<Changeset> applied = new ArrayList<>();
    private volatile String failNext;
    private volatile String failAll;
    private final java.util.concurrent.atomic.AtomicInteger attempts = new java.util.concurrent.atomic.AtomicInteger();

    @Override
    public DataplaneKind kind() {
        return DataplaneKind.FAKE;
    }

    @Override
    public Map<ServiceKey, String> read() {
        Map<ServiceKey, String> out = new LinkedHashMap<>();
        table.forEach((k, v) -> out.put(k, v.fingerprint()));
        return out;
    }

    @Override
    public synchronized void apply(Changeset changes) throws DataplaneException {
        attempts.incrementAndGet();
        if (failAll != null) {
            throw new DataplaneException(failAll);
        }
        String fail = failNext;
        if (fail != null) {
            failNext = null;
            throw new DataplaneException(fail);
        }
        applied.add(changes);
        changes.deletes().forEach(table::remove);
        changes.upserts().forEach(s -> table.put(s.key(), s));
    }

    @Override
    public Map<ServiceKey, Map<String, DestinationCounters>> counters() {
        return Map.of();
    }

    @Override
    public void close() {
    }

    /** What the "kernel" holds now. */
    public Map<ServiceKey, DataplaneService> table() {
        return Map.copyOf(table);
    }

    public synchronized List<Changeset> applied() {
        return List.copyOf(applied);
    }

    public void flush() {
        table.clear();
    }

    public void failNextApply(String message) {
        failNext = message;
    }

    /** Every apply fails with {@code message} until called with null (a problem that persists). */
    public void failEveryApply(String message) {
        failAll = message;
    }

    /** Applies attempted so far, failed ones included. */
    public int applyAttempts() {
        return attempts.get();
    }
}
