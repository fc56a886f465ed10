package io.tiergate.director.dataplane;

/**
 * Traffic figures of one destination. {@link #UNAVAILABLE} (-1) marks figures a dataplane cannot provide
 * (a stateless nft DR path keeps no connection table).
 */
public record DestinationCounters(long activeConnections, long inactiveConnections, long connections,
                                  long packetsIn, long packetsOut, long bytesIn, long bytesOut) {
    public static final long UNAVAILABLE = -1;
    public static final DestinationCounters NONE = new DestinationCounters(-1, -1, -1, -1, -1, -1, -1);
}
