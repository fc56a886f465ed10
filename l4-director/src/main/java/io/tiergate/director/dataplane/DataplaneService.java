package io.tiergate.director.dataplane;

import io.tiergate.director.model.ForwardingMethod;
import io.tiergate.director.model.Persistence;
import io.tiergate.director.model.Scheduler;
import io.tiergate.director.model.ServiceKey;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * A virtual service exactly as the dataplane should hold it: health, drains, quorum and the sorry server already
 * applied, DNS names already resolved. Destinations are kept sorted so equal services compare and fingerprint equal.
 */
public record DataplaneService(ServiceKey key, Scheduler scheduler, ForwardingMethod method, Persistence persistence,
                               boolean proxyProtocol, List<Destination> destinations) {
    public DataplaneService {
        Objects.requireNonNull(key, "key");
        Objects.requireNonNull(scheduler, "scheduler");
        Objects.requireNonNull(method, "method");
        Objects.requireNonNull(persistence, "persistence");
        List<Destination> sorted = new ArrayList<>(destinations);
        sorted.sort(null);
        destinations = List.copyOf(sorted);
    }

    /** A canonical one-line description; the same service gives the same text in every process. */
    public String canonical() {
        StringBuilder sb = new StringBuilder();
        sb.append(key).append(' ').append(scheduler.configName()).append(' ').append(method.configName());
        sb.append(" p=").append(persistence.timeout().toSeconds()).append('/').append(persistence.prefixLength());
        sb.append(proxyProtocol ? " pp2" : "");
        for (Destination d : destinations) {
            sb.append(' ').append(d.id()).append('@').append(d.weight());
        }
        return sb.toString();
    }

    /**
     * 16 hex digits identifying {@link #canonical()}. Dataplanes that cannot read a service back in full (nft) store
     * it next to the service, so a restarted director recognises an identical service and leaves it alone.
     */
    public String fingerprint() {
        long h = io.tiergate.shared.maglev.MaglevTable.hash64(canonical().getBytes(StandardCharsets.UTF_8));
        return String.format("%016x", h);
    }
}
