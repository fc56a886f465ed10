package io.tiergate.director.model;

import io.tiergate.shared.config.HostPort;

import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * One load-balanced service as the operator configured it. The engine turns it, together with health and drain
 * state, into what the dataplane should hold.
 *
 * @param quorum       minimum number of usable real servers; below it traffic goes to the sorry server if one is set
 * @param proxyProtocol send a PROXY protocol v2 header to real servers (full-proxy dataplanes only)
 */
public record VirtualService(String name, ServiceKey key, Scheduler scheduler, ForwardingMethod method,
                             Persistence persistence, List<RealServer> realServers, Optional<HostPort> sorryServer,
                             int quorum, OnFailure onFailure, boolean proxyProtocol) {
    public VirtualService {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(key, "key");
        Objects.requireNonNull(scheduler, "scheduler");
        Objects.requireNonNull(method, "method");
        Objects.requireNonNull(persistence, "persistence");
        Objects.requireNonNull(sorryServer, "sorryServer");
        Objects.requireNonNull(onFailure, "onFailure");
        realServers = List.copyOf(realServers);
        if (quorum < 0) {
            throw new IllegalArgumentException("quorum: " + quorum + " (expected: >= 0)");
        }
    }

    public Optional<RealServer> realServer(String id) {
        return realServers.stream().filter(r -> r.id().equals(id)).findFirst();
    }

    public VirtualService withRealServers(List<RealServer> servers) {
        return new VirtualService(name, key, scheduler, method, persistence, servers, sorryServer, quorum, onFailure,
                proxyProtocol);
    }
}
