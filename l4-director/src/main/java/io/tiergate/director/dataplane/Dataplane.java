package io.tiergate.director.dataplane;

import io.tiergate.director.model.ServiceKey;

import java.util.Map;

/**
 * The only thing that touches kernel (or forwarding) state. Deliberately narrow — read what is really there, apply a
 * changeset, report counters — so the engine stays the same for ipvs, nft, userspace and the in-memory fake.
 *
 * <p>All methods are called from the engine's single thread only; implementations need no locking of their own
 * against each other, only against their forwarding threads.
 */
public interface Dataplane extends AutoCloseable {

    DataplaneKind kind();

    /**
     * What is actually programmed, service key → {@link DataplaneService#fingerprint()}. Read back from the kernel each
     * time (not from memory) so drift — {@code nft flush ruleset}, another tool — is seen and repaired.
     */
    Map<ServiceKey, String> read() throws DataplaneException;

    /** Applies the change; on failure nothing of it may be left half-applied when the dataplane can promise that. */
    void apply(Changeset changes) throws DataplaneException;

    /** Per service, per destination id ({@link Destination#id()}), whatever figures the dataplane has. */
    Map<ServiceKey, Map<String, DestinationCounters>> counters();

    /**
     * The HA role changed (or the sync settings did): a dataplane with connection sync (ipvs) runs its sync daemon as
     * master or backup accordingly; others have nothing to do.
     */
    default void role(io.tiergate.director.model.Role role, java.util.Optional<io.tiergate.director.model.ConnectionSync> sync)
            throws DataplaneException {
    }

    /** Releases what this process holds. Never removes kernel state: a restarted director must find it intact. */
    @Override
    void close();
}
