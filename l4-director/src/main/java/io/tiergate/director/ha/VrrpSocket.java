package io.tiergate.director.ha;

import io.tiergate.director.ha.internal.LibC;
import jnr.ffi.Memory;
import jnr.ffi.Pointer;

import java.nio.charset.StandardCharsets;

/**
 * Raw IPv4 protocol-112 sockets for one VRRP instance. Two sockets because a raw socket bound to an address only
 * receives packets sent to that address: the receiver stays unbound (multicast group + unicast), the sender is
 * bound to our primary address so every advert carries it as source whichever way it goes. All buffers are
 * native memory allocated once; {@link #send} and {@link #receive} allocate nothing.
 */
final class VrrpSocket implements AutoCloseable {
    private static final int BUF = 2048;
    private final LibC c = LibC.get();
    private final int recvFd;
    private final int sendFd;
    private final int wakeFd;
    private final Pointer sendBuf = Memory.allocateDirect(LibC.runtime(), BUF);
    private final Pointer recvBuf = Memory.allocateDirect(LibC.runtime(), BUF);
    private final Pointer dstAddr = Memory.allocateDirect(LibC.runtime(), 16);
    private final Pointer pollFds = Memory.allocateDirect(LibC.runtime(), 16);
    private final Pointer eight = Memory.allocateDirect(LibC.runtime(), 8);

    VrrpSocket(String ifname, int ifindex, int source, boolean multicast) {
        int r = -1;
        int s = -1;
        int w = -1;
        try {
            r = check(c.socket(LibC.AF_INET, LibC.SOCK_RAW | LibC.SOCK_CLOEXEC, VrrpPacket.PROTOCOL), "socket(AF_INET, SOCK_RAW, 112)");
            s = check(c.socket(LibC.AF_INET, LibC.SOCK_RAW | LibC.SOCK_CLOEXEC, VrrpPacket.PROTOCOL), "socket(AF_INET, SOCK_RAW, 112)");
            bindToDevice(r, ifname);
            bindToDevice(s, ifname);
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

    /** Sends {@code len} bytes of {@code msg} to {@code dst}; returns false (errno kept) on failure. */
    boolean send(byte[] msg, int len, int dst) {
        sendBuf.put(0, msg, 0, len);
        putSockaddr(dstAddr, dst);
        return c.sendto(sendFd, sendBuf, len, 0, dstAddr, 16) == len;
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

    /** Copies the next datagram (IP header included) into {@code into}; -1 when none is queued. */
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
