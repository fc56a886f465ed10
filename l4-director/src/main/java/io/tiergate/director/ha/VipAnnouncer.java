package io.tiergate.director.ha;

/**
 * Tells the segment that a VIP moved to us: gratuitous ARP for IPv4, an unsolicited Neighbor Advertisement for
 * IPv6. Hosts and switches then point the VIP at our MAC at once instead of waiting for their entry to go stale.
 */
interface VipAnnouncer extends AutoCloseable {
    /** Announces the address at {@code addrs[off]} (4 or 16 bytes, the instance's family). Thread-safe. */
    void announce(byte[] addrs, int off);

    @Override
    void close();
}
