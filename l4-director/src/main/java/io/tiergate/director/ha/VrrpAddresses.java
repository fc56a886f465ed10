package io.tiergate.director.ha;

import java.net.InetAddress;
import java.util.Arrays;
import java.util.List;

/**
 * The addresses one VRRP instance deals in, for either family. The advert thread, the state machine and the
 * mismatch log name routers by an int: for IPv4 the address itself; for IPv6 a small number given to each
 * link-local source on first sight (at most {@link #CAPACITY}; a flood of forged sources all share
 * {@link #OTHER}), so receiving stays allocation-free once the peers are known.
 */
final class VrrpAddresses {
    static final int CAPACITY = 256;
    /** The key of IPv6 sources beyond {@link #CAPACITY}. */
    static final int OTHER = -1;
    final boolean ipv6;
    /** Our primary address (IPv6: link-local), 4 or 16 bytes. */
    final byte[] primary;
    final int primaryKey;
    /** Keys of the configured unicast peers (empty: multicast). */
    final int[] peerKeys;
    /** Where adverts go: the multicast group or each unicast peer, as 4 or 16 bytes. */
    final byte[][] destinations;
    private final byte[][] book = new byte[CAPACITY][];
    private volatile int size;

    VrrpAddresses(InetAddress primary, List<InetAddress> peers) {
        this.primary = primary.getAddress();
        this.ipv6 = this.primary.length == 16;
        primaryKey = key(this.primary);
        peerKeys = peers.stream().mapToInt(p -> key(p.getAddress())).toArray();
        destinations = peers.isEmpty()
                ? new byte[][] {ipv6 ? VrrpPacket.MULTICAST_GROUP6 : intBytes(VrrpPacket.MULTICAST_GROUP)}
                : peers.stream().map(InetAddress::getAddress).toArray(byte[][]::new);
    }

    private static byte[] intBytes(int ip) {
        byte[] b = new byte[4];
        VrrpPacket.putInt(b, 0, ip);
        return b;
    }

    int addressLength() {
        return ipv6 ? 16 : 4;
    }

    /** The key of the source of the packet in {@code view}. Allocates only for a new IPv6 source. */
    int sourceKey(VrrpPacket.View view) {
        return ipv6 ? key(view.src6) : view.src;
    }

    /** Whether the source in {@code view} has a greater address than ours (RFC 5798 §6.4.3's tie breaker). */
    boolean sourceIsHigher(VrrpPacket.View view) {
        return ipv6 ? Arrays.compareUnsigned(view.src6, primary) > 0
                : Integer.compareUnsigned(view.src, VrrpPacket.getInt(primary, 0)) > 0;
    }

    private int key(byte[] a) {
        if (!ipv6) {
            return VrrpPacket.getInt(a, 0);
        }
        int n = size;
        for (int i = 0; i < n; i++) {
            if (Arrays.equals(book[i], a)) {
                return i + 1;
            }
        }
        if (n == CAPACITY) {
            return OTHER;
        }
        book[n] = a.clone();
        size = n + 1; // published after the entry: readers on other threads see it whole
        return n + 1;
    }

    /** The address behind a key; null for {@link #OTHER} or 0. */
    InetAddress address(int key) {
        if (!ipv6) {
            return key == 0 ? null : VrrpPacket.toAddress(key);
        }
        return key < 1 || key > size ? null : VrrpSocket.address(book[key - 1]);
    }

    String name(int key) {
        InetAddress a = address(key);
        return a != null ? VrrpConfig.text(a) : ipv6 && key == OTHER ? "(one of many IPv6 sources)" : "-";
    }
}
