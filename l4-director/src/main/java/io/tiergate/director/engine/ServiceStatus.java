package io.tiergate.director.engine;

import io.tiergate.director.model.ServiceKey;

import java.util.List;

/**
 * What the director holds for one service, for the admin API and {@code tiergate director status}.
 *
 * @param quorumMet   at least {@code quorum} real servers can take traffic
 * @param sorryActive traffic currently goes to the sorry server
 */
public record ServiceStatus(String name, ServiceKey key, String scheduler, String method, int quorum,
                            boolean quorumMet, boolean sorryActive, String sorryServer,
                            List<RealServerStatus> realServers) {

    /**
     * @param id               address:port as the dataplane holds it
     * @param configured       the real server as written in the config (may be a DNS name)
     * @param health           up, down, unknown (not probed yet; treated as up), pending (joined a running director, not
     *                         probed yet: out of rotation until its first verdict) or unchecked
     * @param inDataplane      present in the dataplane (false when removed after a failure, or for a sorry server row
     *                         that is not active)
     * @param activeConnections -1 when the dataplane cannot tell
     */
    public record RealServerStatus(String id, String configured, int weight, int effectiveWeight, String health,
                                   boolean drained, boolean inDataplane, boolean sorry, long activeConnections,
                                   long inactiveConnections, long connections, long packetsIn, long packetsOut,
                                   long bytesIn, long bytesOut) {
    }
}
