package io.tiergate.director.dataplane.ipvs;

import java.net.InetAddress;
import java.util.Objects;

/**
 * A real server of a virtual service. Thresholds of 0 mean "no limit". Tunnel type, port and
 * flags only matter for {@link IpvsForwarding#TUNNEL} (GUE needs a port). Connection counts and
 * stats are filled when read from the kernel, zero otherwise.
 */
public record IpvsDestination(InetAddress address, int port, IpvsForwarding forwarding, int weight,
                              int upperThreshold, int lowerThreshold,
                              IpvsTunnelType tunnelType, int tunnelPort, int tunnelFlags,
                              int activeConnections, int inactiveConnections, int persistentConnections,
                              IpvsStats stats) {

    public IpvsDestination {
        Objects.requireNonNull(address, "address");
        Objects.requireNonNull(forwarding, "forwarding");
        Objects.requireNonNull(tunnelType, "tunnelType");
        Objects.requireNonNull(stats, "stats");
        if (port < 0 || port > 65535) {
            throw new IllegalArgumentException("port: " + port + " (expected: 0..65535)");
        }
        if (weight < 0) {
            throw new IllegalArgumentException("weight: " + weight + " (expected: >= 0)");
        }
        if (upperThreshold < 0 || lowerThreshold < 0) {
            throw new IllegalArgumentException("thresholds: " + upperThreshold + "/" + lowerThreshold + " (expected: >= 0)");
        }
        if (tunnelPort < 0 || tunnelPort > 65535) {
            throw new IllegalArgumentException("tunnelPort: " + tunnelPort + " (expected: 0..65535)");
        }
        if (forwarding == IpvsForwarding.TUNNEL && tunnelType == IpvsTunnelType.GUE && tunnelPort == 0) {
            throw new IllegalArgumentException("tunnelPort: 0 (expected: a port for a GUE tunnel)");
        }
    }

    public static Builder builder(InetAddress address, int port) {
        return new Builder(address, port);
    }

    public IpvsFamily family() {
        return IpvsFamily.of(address);
    }

    /** Same real server (the kernel's key inside one service). */
    public boolean sameKey(IpvsDestination o) {
        return port == o.port && address.equals(o.address);
    }

    public String describe() {
        return IpvsService.hostPort(address, port);
    }

    public Builder toBuilder() {
        return new Builder(address, port).forwarding(forwarding).weight(weight)
                .thresholds(upperThreshold, lowerThreshold).tunnel(tunnelType, tunnelPort, tunnelFlags);
    }

    @Override
    public String toString() {
        return describe() + " " + forwarding.ipvsadmName() + " w" + weight;
    }

    public static final class Builder {
        private final InetAddress address;
        private final int port;
        private IpvsForwarding forwarding = IpvsForwarding.ROUTE;
        private int weight = 1;
        private int upper;
        private int lower;
        private IpvsTunnelType tunnelType = IpvsTunnelType.IPIP;
        private int tunnelPort;
        private int tunnelFlags;
        private int active;
        private int inactive;
        private int persistent;
        private IpvsStats stats = IpvsStats.ZERO;

        private Builder(InetAddress address, int port) {
            this.address = Objects.requireNonNull(address, "address");
            this.port = port;
        }

        /** Default {@link IpvsForwarding#ROUTE} (DR), as ipvsadm's -g. */
        public Builder forwarding(IpvsForwarding forwarding) {
            this.forwarding = Objects.requireNonNull(forwarding, "forwarding");
            return this;
        }

        /** Default 1; 0 quiesces (no new connections, existing ones continue). */
        public Builder weight(int weight) {
            this.weight = weight;
            return this;
        }

        public Builder thresholds(int upper, int lower) {
            this.upper = upper;
            this.lower = lower;
            return this;
        }

        /** Tunnel encapsulation; flags: 1 = checksum, 2 = remote checksum offload. */
        public Builder tunnel(IpvsTunnelType type, int port, int flags) {
            this.tunnelType = Objects.requireNonNull(type, "type");
            this.tunnelPort = port;
            this.tunnelFlags = flags;
            return this;
        }

        public Builder connections(int active, int inactive, int persistent) {
            this.active = active;
            this.inactive = inactive;
            this.persistent = persistent;
            return this;
        }

        public Builder stats(IpvsStats stats) {
            this.stats = stats;
            return this;
        }

        public IpvsDestination build() {
            return new IpvsDestination(address, port, forwarding, weight, upper, lower, tunnelType, tunnelPort,
                    tunnelFlags, active, inactive, persistent, stats);
        }
    }
}
