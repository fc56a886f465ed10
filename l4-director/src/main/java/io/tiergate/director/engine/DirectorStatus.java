package io.tiergate.director.engine;

import java.util.List;

/**
 * A point-in-time view of the whole director: which dataplane, the last step's outcome, every service, and the HA
 * (VRRP) state when HA is configured ({@code ha} is null otherwise), the BGP state when {@code bgp:} is
 * configured ({@code bgp} is null otherwise).
 */
public record DirectorStatus(String dataplane, String dataplaneReason, long steps, String lastError,
                             List<ServiceStatus> services, HaStatus ha, BgpStatus bgp) {

    /** Without BGP. */
    public DirectorStatus(String dataplane, String dataplaneReason, long steps, String lastError,
                          List<ServiceStatus> services, HaStatus ha) {
        this(dataplane, dataplaneReason, steps, lastError, services, ha, null);
    }
}
