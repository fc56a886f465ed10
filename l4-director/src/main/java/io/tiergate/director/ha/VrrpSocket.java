package io.tiergate.director.ha;

import io.tiergate.director.ha.internal.LibC;
import jnr.ffi.Memory;
import jnr.ffi.Pointer;

import java.nio.charset.StandardCharsets;

/**
 * Raw protocol-112 sockets (IPv4 or IPv6) for one VRRP instance. Two sockets because a raw socket bound to an
 * address only receives packets sent to that address: the receiver stays unbound (multicast group + unicast), the
 * sender is bound to our primary address (IPv6: the link-local one) so every advert carries it as source whichever
 * way it goes. All buffers are native memory allocated once; sending and receiving allocate nothing.
 *
 * <p>An IPv6 raw socket hands over the VRRP message without the IP header: the destination and the hop limit
 * (both needed to validate an advert) come as ancillary data of {@code recvmsg} (IPV6_PKTINFO, IPV6_HOPLIMIT).
 */
final class VrrpSocket implements AutoCloseable {
    private static final int BUF = 2048;
    private static final int SOCKADDR_IN6 = 28;
    private static final int CONTROL = 128;
    /** How long an IPv6 sender waits for its link-local address to leave DAD's tentative state. */
    private static final long TENTATIVE_WAIT_MS = 5_000;
    private final LibC c = LibC.get();
    private final int recvFd;
    private final int sendFd;
    private final int wakeFd;
    private final Pointer sendBuf = Memory.allocateDirect(LibC.runtime(), BUF);
    private final Pointer recvBuf = Memory.allocateDirect(LibC.runtime(), BUF);
    private final Pointer dstAddr = Memory.allocateDirect(LibC.runtime(), SOCKADDR_IN6);
    private final Pointer pollFds = Memory.allocateDirect(LibC.runtime(), 16);
    private final Pointer eight = Memory.allocateDirect(LibC.runtime(), 8);
    // recvmsg for IPv6: msghdr (56 bytes on LP64), one iovec, the source sockaddr_in6, the control buffer
    private final Pointer msghdr = Memory.allocateDirect(LibC.runtime(), 56);
    private final Pointer iov = Memory.allocateDirect(LibC.runtime(), 16);
    private final Pointer name6 = Memory.allocateDirect(LibC.runtime(), SOCKADDR_IN6);
    private final Pointer control = Memory.allocateDirect(LibC.runtime(), CONTROL);
    private final int ifindex;

    /**
     * Opens the sockets of {@code source}'s family (4 bytes: IPv4, 16: IPv6 link-local): multicast to 224.0.0.18 or
     * ff02::12, or unicast only.
     */
    VrrpSocket(String ifname, int ifindex, byte[] source, boolean multicast) {
        this.ifindex = ifindex;
        boolean v6 = source.length == 16;
        int family = v6 ? LibC.AF_INET6 : LibC.AF_INET;
        String what = "socket(" + (v6 ? "AF_INET6" : "AF_INET") + ", SOCK_RAW, 112)";
        int r = -1;
        int s = -1;
        int w = -1;
        try {
            r = check(c.socket(family, LibC.SOCK_RAW | LibC.SOCK_CLOEXEC, VrrpPacket.PROTOCOL), what);
            s = check(c.socket(family, LibC.SOCK_RAW | LibC.SOCK_CLOEXEC, VrrpPacket.PROTOCOL), what);
            bindToDevice(r, ifname);
            bindToDevice(s, ifname);
            if (v6) {
                setUp6(r, s, ifname, source, multicast);
            } else {
                setUp4(r, s, ifname, VrrpPacket.getInt(source, 0), multicast);
            }
            w = check(c.eventfd(0, LibC.EFD_NONBLOCK | LibC.EFD_CLOEXEC), "eventfd");
        } catch (RuntimeException e) {
            closeQuietly(r);
            closeQuietly(s);
            closeQuietly(w);
            throw e;
        }
        recvFd = r;
        sendFd = s;
        wakeFd = w;
        pollFds.putInt(0, recvFd);
        pollFds.putShort(4, (short) LibC.POLLIN);
        pollFds.putInt(8, wakeFd);
        pollFds.putShort(12, (short) LibC.POLLIN);
        iov.putAddress(0, recvBuf.address());
        iov.putLong(8, BUF);
    }

    private void setUp4(int r, int s, String ifname, int source, boolean multicast) {
        Pointer opt = Memory.allocateDirect(LibC.runtime(), 16);
        if (multicast) {
            // ip_mreqn { imr_multiaddr, imr_address, imr_ifindex }
            putIp(opt, 0, VrrpPacket.MULTICAST_GROUP);
            putIp(opt, 4, 0);
            opt.putInt(8, ifindex);
            check(c.setsockopt(r, LibC.IPPROTO_IP, LibC.IP_ADD_MEMBERSHIP, opt, 12), "IP_ADD_MEMBERSHIP 224.0.0.18");
            putIp(opt, 0, 0);
            putIp(opt, 4, source);
            opt.putInt(8, ifindex);
            check(c.setsockopt(s, LibC.IPPROTO_IP, LibC.IP_MULTICAST_IF, opt, 12), "IP_MULTICAST_IF");
        }
        opt.putInt(0, VrrpPacket.TTL);
        check(c.setsockopt(s, LibC.IPPROTO_IP, LibC.IP_MULTICAST_TTL, opt, 4), "IP_MULTICAST_TTL 255");
        check(c.setsockopt(s, LibC.IPPROTO_IP, LibC.IP_TTL, opt, 4), "IP_TTL 255");
        opt.putInt(0, 0);
        check(c.setsockopt(s, LibC.IPPROTO_IP, LibC.IP_MULTICAST_LOOP, opt, 4), "IP_MULTICAST_LOOP 0");
        // The sender never reads: keep its receive queue minimal.
        check(c.setsockopt(s, LibC.SOL_SOCKET, LibC.SO_RCVBUF, opt, 4), "SO_RCVBUF");
        putSockaddr(opt, source);
        if (c.bind(s, opt, 16) < 0) {
            throw new VrrpException("cannot bind the VRRP socket to " + VrrpPacket.format(source) + " on " + ifname
                    + ": " + LibC.lastError() + " (is source_address configured on the interface?)");
        }
    }

    private void setUp6(int r, int s, String ifname, byte[] source, boolean multicast) {
        Pointer opt = Memory.allocateDirect(LibC.runtime(), 20);
        if (multicast) {
            // ipv6_mreq { ipv6mr_multiaddr[16], ipv6mr_interface }
            opt.put(0, VrrpPacket.MULTICAST_GROUP6, 0, 16);
            opt.putInt(16, ifindex);
            check(c.setsockopt(r, LibC.IPPROTO_IPV6, LibC.IPV6_JOIN_GROUP, opt, 20), "IPV6_JOIN_GROUP ff02::12");
            opt.putInt(0, ifindex);
            check(c.setsockopt(s, LibC.IPPROTO_IPV6, LibC.IPV6_MULTICAST_IF, opt, 4), "IPV6_MULTICAST_IF");
        }
        opt.putInt(0, 1);
        check(c.setsockopt(r, LibC.IPPROTO_IPV6, LibC.IPV6_RECVPKTINFO, opt, 4), "IPV6_RECVPKTINFO");
        check(c.setsockopt(r, LibC.IPPROTO_IPV6, LibC.IPV6_RECVHOPLIMIT, opt, 4), "IPV6_RECVHOPLIMIT");
        opt.putInt(0, VrrpPacket.TTL);
        check(c.setsockopt(s, LibC.IPPROTO_IPV6, LibC.IPV6_MULTICAST_HOPS, opt, 4), "IPV6_MULTICAST_HOPS 255");
        check(c.setsockopt(s, LibC.IPPROTO_IPV6, LibC.IPV6_UNICAST_HOPS, opt, 4), "IPV6_UNICAST_HOPS 255");
        opt.putInt(0, 0);
        check(c.setsockopt(s, LibC.IPPROTO_IPV6, LibC.IPV6_MULTICAST_LOOP, opt, 4), "IPV6_MULTICAST_LOOP 0");
        check(c.setsockopt(s, LibC.SOL_SOCKET, LibC.SO_RCVBUF, opt, 4), "SO_RCVBUF");
        Pointer sa = Memory.allocateDirect(LibC.runtime(), SOCKADDR_IN6);
        putSockaddr6(sa, source, ifindex);
        // A link-local address is tentative for a second or two after the link comes up (DAD): bind fails with
        // EADDRNOTAVAIL until then.
        long until = System.currentTimeMillis() + TENTATIVE_WAIT_MS;
        while (c.bind(s, sa, SOCKADDR_IN6) < 0) {
            if (LibC.errno() != LibC.EADDRNOTAVAIL || System.currentTimeMillis() > until) {
                throw new VrrpException("cannot bind the VRRP socket to " + VrrpConfig.text(address(source)) + " on "
                        + ifname + ": " + LibC.lastError()
                        + " (is it the interface's link-local address, and has it left DAD's tentative state?)");
            }
            sleep(100);
        }
    }

    static java.net.InetAddress address(byte[] a) {
        try {
            return java.net.InetAddress.getByAddress(a);
        } catch (java.net.UnknownHostException e) {
            throw new AssertionError(e);
        }
    }

    private static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new VrrpException("interrupted while waiting for the link-local address");
        }
    }

    /** sockaddr_in6 { family, port, flowinfo, addr[16], scope_id }. */
    static void putSockaddr6(Pointer p, byte[] ip, int scope) {
        p.putShort(0, (short) LibC.AF_INET6);
        p.putShort(2, (short) 0);
        p.putInt(4, 0);
        p.put(8, ip, 0, 16);
        p.putInt(24, scope);
    }

    private void bindToDevice(int fd, String ifname) {
        byte[] name = (ifname + "\0").getBytes(StandardCharsets.US_ASCII);
        Pointer p = Memory.allocateDirect(LibC.runtime(), name.length);
        p.put(0, name, 0, name.length);
        if (c.setsockopt(fd, LibC.SOL_SOCKET, LibC.SO_BINDTODEVICE, p, name.length) < 0) {
            throw new VrrpException("cannot bind the VRRP socket to interface " + ifname + ": " + LibC.lastError());
        }
    }

    private static int check(int rc, String what) {
        if (rc < 0) {
            throw new VrrpException(what + " failed: " + LibC.lastError()
                    + (LibC.errno() == 1 ? " — VRRP needs root or CAP_NET_RAW" : ""));
        }
        return rc;
    }

    private static void putIp(Pointer p, long off, int ip) {
        p.putByte(off, (byte) (ip >>> 24));
        p.putByte(off + 1, (byte) (ip >>> 16));
        p.putByte(off + 2, (byte) (ip >>> 8));
        p.putByte(off + 3, (byte) ip);
    }

    private static void putSockaddr(Pointer p, int ip) {
        p.putShort(0, (short) LibC.AF_INET); // sin_family, host order
        p.putShort(2, (short) 0);             // sin_port
        putIp(p, 4, ip);
        p.putLong(8, 0);
    }

    /** IPv4: sends {@code len} bytes of {@code msg} to {@code dst}; returns false (errno kept) on failure. */
    boolean send(byte[] msg, int len, int dst) {
        sendBuf.put(0, msg, 0, len);
        putSockaddr(dstAddr, dst);
        return c.sendto(sendFd, sendBuf, len, 0, dstAddr, 16) == len;
    }

    /** IPv6: sends {@code len} bytes of {@code msg} to {@code dst} (scoped to our interface when link-local). */
    boolean send6(byte[] msg, int len, byte[] dst) {
        sendBuf.put(0, msg, 0, len);
        putSockaddr6(dstAddr, dst, ifindex);
        return c.sendto(sendFd, sendBuf, len, 0, dstAddr, SOCKADDR_IN6) == len;
    }

    /**
     * IPv6: copies the next VRRP message (no IP header) into {@code into} and its source, destination and hop limit
     * into {@code view} (src6, dst6, ttl); -1 when none is queued. A message without the ancillary data gets hop
     * limit 0, which the codec refuses.
     */
    int receive6(byte[] into, VrrpPacket.View view) {
        msghdr.putAddress(0, name6.address());
        msghdr.putInt(8, SOCKADDR_IN6);
        msghdr.putAddress(16, iov.address());
        msghdr.putLong(24, 1);
        msghdr.putAddress(32, control.address());
        msghdr.putLong(40, CONTROL);
        msghdr.putInt(48, 0);
        long n = c.recvmsg(recvFd, msghdr, LibC.MSG_DONTWAIT);
        if (n <= 0) {
            return -1;
        }
        int len = (int) Math.min(n, into.length);
        recvBuf.get(0, into, 0, len);
        name6.get(8, view.src6, 0, 16);
        view.ttl = 0;
        java.util.Arrays.fill(view.dst6, (byte) 0);
        long controlLen = msghdr.getLong(40);
        for (long off = 0; off + 16 <= controlLen; ) {
            long cmsgLen = control.getLong(off);
            if (cmsgLen < 16 || off + cmsgLen > controlLen) {
                break;
            }
            int level = control.getInt(off + 8);
            int type = control.getInt(off + 12);
            if (level == LibC.IPPROTO_IPV6 && type == LibC.IPV6_PKTINFO && cmsgLen >= 16 + 20) {
                control.get(off + 16, view.dst6, 0, 16); // in6_pktinfo { addr[16], ifindex }
            } else if (level == LibC.IPPROTO_IPV6 && type == LibC.IPV6_HOPLIMIT && cmsgLen >= 16 + 4) {
                view.ttl = control.getInt(off + 16);
            }
            off += (cmsgLen + 7) & ~7L;
        }
        return len;
    }

    /**
     * Waits up to {@code timeoutMs} (-1: forever) for an advert or a wake-up.
     * Returns a bit set: 1 = the socket is readable, 2 = woken up.
     */
    int await(int timeoutMs) {
        pollFds.putShort(6, (short) 0);
        pollFds.putShort(14, (short) 0);
        int n = c.poll(pollFds, 2, timeoutMs);
        if (n <= 0) {
            return 0;
        }
        int bits = 0;
        if (pollFds.getShort(6) != 0) {
            bits |= 1;
        }
        if (pollFds.getShort(14) != 0) {
            bits |= 2;
            c.read(wakeFd, eight, 8);
        }
        return bits;
    }

    /** Wakes {@link #await} from another thread. */
    void wakeUp() {
        Pointer p = Memory.allocateDirect(LibC.runtime(), 8);
        p.putLong(0, 1);
        c.write(wakeFd, p, 8);
    }

    /** IPv4: copies the next datagram (IP header included) into {@code into}; -1 when none is queued. */
    int receive(byte[] into) {
        long n = c.recv(recvFd, recvBuf, Math.min(into.length, BUF), LibC.MSG_DONTWAIT);
        if (n <= 0) {
            return -1;
        }
        recvBuf.get(0, into, 0, (int) n);
        return (int) n;
    }

    private void closeQuietly(int fd) {
        if (fd >= 0) {
            c.close(fd);
        }
    }

    @Override
    public void close() {
        closeQuietly(recvFd);
        closeQuietly(sendFd);
        closeQuietly(wakeFd);
    }
}
