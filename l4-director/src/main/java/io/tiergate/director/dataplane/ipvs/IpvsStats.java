package io.tiergate.director.dataplane.ipvs;

/**
 * Counters of a service or destination, 64-bit when the kernel sends IPVS_*_ATTR_STATS64 (it has
 * since 4.x), else widened from the 32-bit set. Rates are per second, averaged by the kernel's
 * estimator (which lags about 2 s).
 */
public record IpvsStats(long connections, long inPackets, long outPackets, long inBytes, long outBytes,
                        long connectionsPerSecond, long inPacketsPerSecond, long outPacketsPerSecond,
                        long inBytesPerSecond, long outBytesPerSecond) {

    public static final IpvsStats ZERO = new IpvsStats(0, 0, 0, 0, 0, 0, 0, 0, 0, 0);
}
