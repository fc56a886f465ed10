package io.tiergate.director.ha;

import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.ArrayList;
import java.util.List;

/**
 * A VRRPv3 advertisement for IPv4 or IPv6 (RFC 5798 §5.1) and its wire codec.
 *
 * <pre>
 *  0                   1                   2                   3
 *  |Version| Type  | Virtual Rtr ID|   Priority    |Count IPvX Addr|
 *  |(rsvd) |     Max Adver Int     |          Checksum             |
 *  |                       IPvX Address(es)                        |
 * </pre>
 *
 * The checksum covers a pseudo-header followed by the VRRP message (§5.2.8) — for IPv4 source, destination, zero,
 * protocol 112, VRRP length; for IPv6 the RFC 8200 §8.1 one (source, destination, 32-bit length, 24 zero bits,
 * next header 112) — unlike VRRPv2, so it must be recomputed for every destination (multicast group or each
 * unicast peer). Addresses in buffers are 4 or 16 bytes, all VIPs of one advert in one family. The static methods work on caller-owned buffers and int addresses so the advert loop
 * allocates nothing; the record form is for tests, logs and tools.
 */
public record VrrpPacket(int vrid, int priority, int maxAdverIntCs, List<InetAddress> addresses) {
    public static final int PROTOCOL = 112;
    public static final int VERSION = 3;
    public static final int TYPE_ADVERTISEMENT = 1;
    public static final int HEADER_LENGTH = 8;
    public static final int MAX_ADVER_INT_CS = 0x0FFF;
    /** 224.0.0.18, the VRRP multicast group. */
    public static final int MULTICAST_GROUP = (224 << 24) | 18;
    public static final int TTL = 255;
    /** ff02::12, the VRRP multicast group for IPv6. */
    public static final byte[] MULTICAST_GROUP6 = {(byte) 0xff, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x12};

    public VrrpPacket {
        if (vrid < 1 || vrid > 255) {
            throw new IllegalArgumentException("vrid: " + vrid + " (expected: 1..255)");
        }
        if (priority < 0 || priority > 255) {
            throw new IllegalArgumentException("priority: " + priority + " (expected: 0..255)");
        }
        if (maxAdverIntCs < 1 || maxAdverIntCs > MAX_ADVER_INT_CS) {
            throw new IllegalArgumentException("maxAdverIntCs: " + maxAdverIntCs + " (expected: 1..4095)");
        }
        if (addresses.size() > 255) {
            throw new IllegalArgumentException("addresses: " + addresses.size() + " (expected: <= 255)");
        }
        addresses = List.copyOf(addresses);
        if (addresses.stream().map(a -> a.getAddress().length).distinct().count() > 1) {
            throw new IllegalArgumentException("addresses: IPv4 and IPv6 mixed in one advert");
        }
    }

    /** Length on the wire of a message carrying {@code count} IPv4 addresses. */
    public static int length(int count) {
        return HEADER_LENGTH + 4 * count;
    }

    /** Length on the wire of a message carrying {@code count} addresses of {@code addrLen} (4 or 16) bytes. */
    public static int length(int count, int addrLen) {
        return HEADER_LENGTH + addrLen * count;
    }

    /** Encodes this advert as sent from {@code src} to {@code dst} (needed for the checksum); both of one family. */
    public byte[] encode(InetAddress src, InetAddress dst) {
        byte[] s = src.getAddress();
        byte[] d = dst.getAddress();
        if (s.length != d.length || (!addresses.isEmpty() && addresses.get(0).getAddress().length != s.length)) {
            throw new IllegalArgumentException("source, destination and addresses must be of one family");
        }
        byte[] addrs = new byte[s.length * addresses.size()];
        for (int i = 0; i < addresses.size(); i++) {
            System.arraycopy(addresses.get(i).getAddress(), 0, addrs, i * s.length, s.length);
        }
        byte[] out = new byte[length(addresses.size(), s.length)];
        if (s.length == 4) {
            encode(out, 0, vrid, priority, maxAdverIntCs, addrs, addresses.size(), getInt(s, 0), getInt(d, 0));
        } else {
            encode6(out, 0, vrid, priority, maxAdverIntCs, addrs, addresses.size(), s, d);
        }
        return out;
    }

    /**
     * Writes an IPv4 advert at {@code buf[off]} and returns its length. {@code addrs} holds {@code count} addresses
     * of 4 bytes each. Allocates nothing.
     */
    public static int encode(byte[] buf, int off, int vrid, int priority, int maxAdverIntCs,
                             byte[] addrs, int count, int src, int dst) {
        int len = header(buf, off, vrid, priority, maxAdverIntCs, addrs, count, 4);
        int sum = checksum(buf, off, len, src, dst);
        buf[off + 6] = (byte) (sum >>> 8);
        buf[off + 7] = (byte) sum;
        return len;
    }

    /** The same for IPv6: 16-byte addresses, the IPv6 pseudo-header of {@code src} and {@code dst}. */
    public static int encode6(byte[] buf, int off, int vrid, int priority, int maxAdverIntCs,
                              byte[] addrs, int count, byte[] src, byte[] dst) {
        int len = header(buf, off, vrid, priority, maxAdverIntCs, addrs, count, 16);
        int sum = checksum6(buf, off, len, src, dst);
        buf[off + 6] = (byte) (sum >>> 8);
        buf[off + 7] = (byte) sum;
        return len;
    }

    private static int header(byte[] buf, int off, int vrid, int priority, int maxAdverIntCs,
                              byte[] addrs, int count, int addrLen) {
        buf[off] = (byte) ((VERSION << 4) | TYPE_ADVERTISEMENT);
        buf[off + 1] = (byte) vrid;
        buf[off + 2] = (byte) priority;
        buf[off + 3] = (byte) count;
        buf[off + 4] = (byte) ((maxAdverIntCs >>> 8) & 0x0F); // the high 4 bits are reserved, sent as 0
        buf[off + 5] = (byte) maxAdverIntCs;
        buf[off + 6] = 0;
        buf[off + 7] = 0;
        System.arraycopy(addrs, 0, buf, off + HEADER_LENGTH, count * addrLen);
        return length(count, addrLen);
    }

    /**
     * The RFC 1071 checksum of pseudo-header + message. Over a message whose checksum field is filled in, a
     * correct packet yields 0.
     */
    public static int checksum(byte[] buf, int off, int len, int src, int dst) {
        long pseudo = (src >>> 16) + (src & 0xFFFF) + (dst >>> 16) + (dst & 0xFFFF)
                + PROTOCOL // zero byte, then protocol
                + len;
        return fold(pseudo + sum(buf, off, len));
    }

    /** The same over the IPv6 pseudo-header (RFC 8200 §8.1): 16-byte source and destination. */
    public static int checksum6(byte[] buf, int off, int len, byte[] src, byte[] dst) {
        long pseudo = sum(src, 0, 16) + sum(dst, 0, 16) + (len >>> 16) + (len & 0xFFFF) + PROTOCOL;
        return fold(pseudo + sum(buf, off, len));
    }

    private static long sum(byte[] buf, int off, int len) {
        long sum = 0;
        int i = 0;
        for (; i + 1 < len; i += 2) {
            sum += ((buf[off + i] & 0xFF) << 8) | (buf[off + i + 1] & 0xFF);
        }
        if (i < len) {
            sum += (buf[off + i] & 0xFF) << 8;
        }
        return sum;
    }

    private static int fold(long sum) {
        while ((sum >>> 16) != 0) {
            sum = (sum & 0xFFFF) + (sum >>> 16);
        }
        return (int) (~sum & 0xFFFF);
    }

    /** Why a received packet was dropped; {@link #OK} when it is a valid advert. */
    public enum Verdict {
        OK, TOO_SHORT, NOT_IPV4, NOT_VRRP, BAD_TTL, BAD_VERSION, BAD_TYPE, BAD_LENGTH, BAD_CHECKSUM, BAD_INTERVAL
    }

    /**
     * Decoded fields of the last packet, reused by the receiver so decoding allocates nothing.
     * Addresses are big-endian ints.
     */
    public static final class View {
        /** IPv4: the addresses as ints. IPv6: {@link #src6}/{@link #dst6} instead (src/dst left to the caller). */
        public int src;
        public int dst;
        /** Whether the last packet came over IPv6: addresses are 16 bytes, the checksum uses src6/dst6. */
        public boolean ipv6;
        public final byte[] src6 = new byte[16];
        public final byte[] dst6 = new byte[16];
        public int ttl;
        public int vrid;
        public int priority;
        public int count;
        public int maxAdverIntCs;
        /** Offset of the first IPvX address in the buffer given to {@link #parseIpv4}. */
        public int addrOffset;
        /** The version nibble, set whenever the VRRP header was reached (also for {@link Verdict#BAD_VERSION}). */
        public int version;
        /** Where the VRRP message starts in the buffer and how long it is (set with {@link #version}). */
        public int vrrpOffset;
        public int vrrpLength;
        /** VRRPv2 only: Auth Type (0 none, 1 simple text password, 2 IP AH); 0 for version 3. */
        public int authType;

        public int address(byte[] buf, int i) {
            return getInt(buf, addrOffset + 4 * i);
        }

        /** 4 or 16. */
        public int addressLength() {
            return ipv6 ? 16 : 4;
        }
    }

    /**
     * Validates a whole IPv4 datagram as a raw socket returns it (IP header included) — TTL 255, protocol 112,
     * version 3, type 1, lengths, checksum over the pseudo-header — and fills {@code view}. RFC 5798 §7.1.
     */
    public static Verdict parseIpv4(byte[] buf, int off, int len, View view) {
        if (len < 20) {
            return Verdict.TOO_SHORT;
        }
        if ((buf[off] & 0xF0) != 0x40) {
            return Verdict.NOT_IPV4;
        }
        int ihl = (buf[off] & 0x0F) * 4;
        if (ihl < 20 || len < ihl) {
            return Verdict.TOO_SHORT;
        }
        if ((buf[off + 9] & 0xFF) != PROTOCOL) {
            return Verdict.NOT_VRRP;
        }
        view.ipv6 = false;
        view.ttl = buf[off + 8] & 0xFF;
        view.src = getInt(buf, off + 12);
        view.dst = getInt(buf, off + 16);
        int totalLength = ((buf[off + 2] & 0xFF) << 8) | (buf[off + 3] & 0xFF);
        int end = Math.min(len, totalLength);
        Verdict v = parseVrrp(buf, off + ihl, end - ihl, view);
        if (v == Verdict.OK && view.ttl != TTL) {
            return Verdict.BAD_TTL; // a router in between would have decremented it: not from our link
        }
        return v;
    }

    /**
     * Validates a VRRP message as an IPv6 raw socket returns it (no IP header: the kernel hands the source, the
     * destination and the hop limit over separately, already in {@code view.src6}, {@code view.dst6} and
     * {@code hopLimit}) — hop limit 255, version 3, type 1, lengths, checksum over the IPv6 pseudo-header.
     */
    public static Verdict parseIpv6(byte[] buf, int off, int len, int hopLimit, View view) {
        view.ipv6 = true;
        view.ttl = hopLimit;
        Verdict v = parseVrrp(buf, off, len, view);
        if (v == Verdict.OK && hopLimit != TTL) {
            return Verdict.BAD_TTL;
        }
        return v;
    }

    /**
     * Validates a VRRP message whose {@code view.src}/{@code view.dst} (IPv4) or {@code view.src6}/{@code view.dst6}
     * ({@code view.ipv6}) are already set, for the checksum.
     */
    public static Verdict parseVrrp(byte[] buf, int off, int len, View view) {
        if (len < HEADER_LENGTH) {
            return Verdict.TOO_SHORT;
        }
        int version = (buf[off] & 0xF0) >>> 4;
        view.version = version;
        view.vrrpOffset = off;
        view.vrrpLength = len;
        view.authType = 0;
        view.count = 0;
        if (version != VERSION) {
            return Verdict.BAD_VERSION;
        }
        if ((buf[off] & 0x0F) != TYPE_ADVERTISEMENT) {
            return Verdict.BAD_TYPE;
        }
        view.vrid = buf[off + 1] & 0xFF;
        view.priority = buf[off + 2] & 0xFF;
        view.count = buf[off + 3] & 0xFF;
        view.maxAdverIntCs = ((buf[off + 4] & 0x0F) << 8) | (buf[off + 5] & 0xFF);
        view.addrOffset = off + HEADER_LENGTH;
        int expected = length(view.count, view.addressLength());
        if (len < expected) {
            view.count = 0; // the addresses are not all there: don't let anyone read them
            return Verdict.BAD_LENGTH;
        }
        int sum = view.ipv6 ? checksum6(buf, off, expected, view.src6, view.dst6)
                : checksum(buf, off, expected, view.src, view.dst);
        if (sum != 0) {
            return Verdict.BAD_CHECKSUM;
        }
        if (view.maxAdverIntCs == 0) {
            return Verdict.BAD_INTERVAL;
        }
        return Verdict.OK;
    }

    /**
     * Reads a VRRPv2 advert (RFC 3768 §5.1) that {@link #parseVrrp} turned away as {@link Verdict#BAD_VERSION}, so a
     * peer still speaking version 2 can be named: fills vrid, priority, count, addresses, the interval (whole
     * seconds on the wire, stored in centiseconds) and the auth type. Its checksum covers the message only.
     */
    public static Verdict parseV2(byte[] buf, View view) {
        int off = view.vrrpOffset;
        int len = view.vrrpLength;
        if (view.version != 2 || len < HEADER_LENGTH || view.ipv6) { // VRRPv2 is IPv4 only
            return Verdict.BAD_VERSION;
        }
        view.vrid = buf[off + 1] & 0xFF;
        view.priority = buf[off + 2] & 0xFF;
        view.count = buf[off + 3] & 0xFF;
        view.authType = buf[off + 4] & 0xFF;
        view.maxAdverIntCs = (buf[off + 5] & 0xFF) * 100;
        view.addrOffset = off + HEADER_LENGTH;
        int expected = HEADER_LENGTH + 4 * view.count + 8; // + 8 bytes of authentication data
        if (len < expected) {
            view.count = 0;
            return Verdict.BAD_LENGTH;
        }
        if (checksum(buf, off, expected) != 0) {
            return Verdict.BAD_CHECKSUM;
        }
        return Verdict.OK;
    }

    /** The RFC 1071 checksum of a message alone (VRRPv2 has no pseudo-header). */
    static int checksum(byte[] buf, int off, int len) {
        return fold(sum(buf, off, len));
    }

    /** Decodes a VRRP message (no IP header) sent from {@code src} to {@code dst}, or throws with the verdict. */
    public static VrrpPacket decode(byte[] vrrp, InetAddress src, InetAddress dst) {
        View view = new View();
        byte[] s = src.getAddress();
        view.ipv6 = s.length == 16;
        if (view.ipv6) {
            System.arraycopy(s, 0, view.src6, 0, 16);
            System.arraycopy(dst.getAddress(), 0, view.dst6, 0, 16);
        } else {
            view.src = getInt(s, 0);
            view.dst = toInt((Inet4Address) dst);
        }
        Verdict v = parseVrrp(vrrp, 0, vrrp.length, view);
        if (v != Verdict.OK) {
            throw new IllegalArgumentException("not a valid VRRPv3 advert: " + v);
        }
        List<InetAddress> addrs = new ArrayList<>(view.count);
        int alen = view.addressLength();
        for (int i = 0; i < view.count; i++) {
            try {
                addrs.add(InetAddress.getByAddress(java.util.Arrays.copyOfRange(vrrp, view.addrOffset + alen * i,
                        view.addrOffset + alen * (i + 1))));
            } catch (UnknownHostException e) {
                throw new AssertionError(e); // 4 or 16 bytes are always an address
            }
        }
        return new VrrpPacket(view.vrid, view.priority, view.maxAdverIntCs, addrs);
    }

    // ---- address helpers ------------------------------------------------------------------------------------

    public static int toInt(Inet4Address a) {
        byte[] b = a.getAddress();
        return getInt(b, 0);
    }

    public static Inet4Address toAddress(int ip) {
        byte[] b = new byte[4];
        putInt(b, 0, ip);
        try {
            return (Inet4Address) InetAddress.getByAddress(b);
        } catch (UnknownHostException e) {
            throw new AssertionError(e); // 4 bytes are always a valid IPv4 address
        }
    }

    public static String format(int ip) {
        return (ip >>> 24) + "." + ((ip >>> 16) & 0xFF) + "." + ((ip >>> 8) & 0xFF) + "." + (ip & 0xFF);
    }

    static int getInt(byte[] b, int off) {
        return ((b[off] & 0xFF) << 24) | ((b[off + 1] & 0xFF) << 16) | ((b[off + 2] & 0xFF) << 8) | (b[off + 3] & 0xFF);
    }

    static void putInt(byte[] b, int off, int v) {
        b[off] = (byte) (v >>> 24);
        b[off + 1] = (byte) (v >>> 16);
        b[off + 2] = (byte) (v >>> 8);
        b[off + 3] = (byte) v;
    }
}
