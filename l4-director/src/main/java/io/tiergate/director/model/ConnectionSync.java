package io.tiergate.director.model;

import java.util.Objects;

/**
 * IPVS connection synchronisation ({@code ipvsadm --start-daemon}): the active director multicasts its connection
 * table on {@code interfaceName}, the standby (same {@code syncId}) applies it, so a failover keeps established flows
 * on their real servers. Which role a director has comes from HA ({@code Director.setRole}).
 */
public record ConnectionSync(String interfaceName, int syncId) {
    public ConnectionSync {
        Objects.requireNonNull(interfaceName, "interfaceName");
        if (interfaceName.isEmpty() || interfaceName.length() > 15) {
            throw new IllegalArgumentException("interfaceName: '" + interfaceName + "' (expected: 1..15 characters)");
        }
        if (syncId < 0 || syncId > 255) {
            throw new IllegalArgumentException("syncId: " + syncId + " (expected: 0..255)");
        }
    }
}
