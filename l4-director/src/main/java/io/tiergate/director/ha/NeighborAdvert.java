package io.tiergate.director.ha;

import io.tiergate.director.ha.internal.LibC;
import jnr.ffi.Memory;
import jnr.ffi.Pointer;

import java.nio.charset.StandardCharsets;

/**
 * Sends unsolicited Neighbor Advertisements (RFC 4861 §7.2.6) for IPv6 VIPs: target = the VIP, Override set,
 * Solicited and Router clear, our MAC as Target Link-Layer Address, to all nodes (ff02::1) with hop limit 255 —
 * the IPv6 counterpart of a gratuitous ARP. Hosts that have an entry for the VIP replace its MAC at once (Linux
 * creates no new entry from an unsolicited advertisement, so hosts without one simply ask later and get our
 * answer). An ICMPv6 raw socket: the kernel fills in the source (our link-local address) and the checksum.
 */
final class NeighborAdvert implements VipAnnouncer {
    private static final int TYPE_NEIGHBOR_ADVERTISEMENT = 136;
    private static final int FLAG_OVERRIDE = 0x20;
    private static final int OPTION_TARGET_LINK_LAYER = 2;
    static final int LENGTH = 32;
    /** ff02::1, all nodes on the link. */
    private static final byte[] ALL_NODES = {(byte) 0xff, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
    private final LibC c = LibC.get();
    private final int fd;
    private final byte[] mac;
    private final Pointer message = Memory.allocateDirect(LibC.runtime(), LENGTH);
    private final Pointer addr = Memory.allocateDirect(LibC.runtime(), 28);
    private final byte[] buf = new byte[LENGTH];

    NeighborAdvert(String ifname, int ifindex, byte[] mac) {
        if (mac == null || mac.length != 6) {
            throw new VrrpException("the VRRP interface has no Ethernet address: Neighbor Advertisements impossible");
        }
        this.mac = mac.clone();
        fd = c.socket(LibC.AF_INET6, LibC.SOCK_RAW | LibC.SOCK_CLOEXEC, LibC.IPPROTO_ICMPV6);
        if (fd < 0) {
            throw new VrrpException("socket(AF_INET6, SOCK_RAW, ICMPv6) for Neighbor Advertisements failed: "
                    + LibC.lastError());
        }
        try {
            byte[] name = (ifname + "\0").getBytes(StandardCharsets.US_ASCII);
            Pointer opt = Memory.allocateDirect(LibC.runtime(), Math.max(32, name.length));
            opt.put(0, name, 0, name.length);
            set(LibC.SOL_SOCKET, LibC.SO_BINDTODEVICE, opt, name.length, "SO_BINDTODEVICE " + ifname);
            opt.putInt(0, 255); // RFC 4861 §7.1.2: receivers drop an advertisement with another hop limit
            set(LibC.IPPROTO_IPV6, LibC.IPV6_MULTICAST_HOPS, opt, 4, "IPV6_MULTICAST_HOPS 255");
            opt.putInt(0, ifindex);
            set(LibC.IPPROTO_IPV6, LibC.IPV6_MULTICAST_IF, opt, 4, "IPV6_MULTICAST_IF");
            opt.putInt(0, 0);
            set(LibC.IPPROTO_IPV6, LibC.IPV6_MULTICAST_LOOP, opt, 4, "IPV6_MULTICAST_LOOP 0");
            // Send only: block every incoming ICMPv6 type so the socket never queues the link's traffic.
            for (int i = 0; i < 32; i += 4) {
                opt.putInt(i, -1);
            }
            set(LibC.IPPROTO_ICMPV6, LibC.ICMP6_FILTER, opt, 32, "ICMP6_FILTER");
        } catch (RuntimeException e) {
            c.close(fd);
            throw e;
        }
        VrrpSocket.putSockaddr6(addr, ALL_NODES, ifindex);
    }

    private void set(int level, int name, Pointer value, int len, String what) {
        if (c.setsockopt(fd, level, name, value, len) < 0) {
            throw new VrrpException(what + " on the Neighbor Advertisement socket failed: " + LibC.lastError());
        }
    }

    /** Builds the 32-byte ICMPv6 message (checksum left 0: the kernel computes it). */
    static void message(byte[] b, byte[] mac, byte[] addrs, int off) {
        java.util.Arrays.fill(b, 0, LENGTH, (byte) 0);
        b[0] = (byte) TYPE_NEIGHBOR_ADVERTISEMENT;
        b[4] = (byte) FLAG_OVERRIDE;
        System.arraycopy(addrs, off, b, 8, 16);   // target address = the VIP
        b[24] = OPTION_TARGET_LINK_LAYER;
        b[25] = 1;                                // option length in units of 8 bytes
        System.arraycopy(mac, 0, b, 26, 6);
    }

    @Override
    public synchronized void announce(byte[] addrs, int off) {
        message(buf, mac, addrs, off);
        message.put(0, buf, 0, LENGTH);
        c.sendto(fd, message, LENGTH, 0, addr, 28);
    }

    @Override
    public void close() {
        c.close(fd);
    }
}
