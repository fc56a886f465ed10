package io.tiergate.director.dataplane;

import io.tiergate.director.model.ServiceKey;

import java.util.List;

/**
 * The minimal change the engine computed: services to create or replace (whole-service granularity; a dataplane
 * may diff destinations further) and services to delete. A dataplane applies one changeset atomically when it can.
 */
public record Changeset(List<DataplaneService> upserts, List<ServiceKey> deletes) {
    public static final Changeset EMPTY = new Changeset(List.of(), List.of());

    public Changeset {
        upserts = List.copyOf(upserts);
        deletes = List.copyOf(deletes);
    }

    public boolean isEmpty() {
        return upserts.isEmpty() && deletes.isEmpty();
    }

    public int size() {
        return upserts.size() + deletes.size();
    }
}
