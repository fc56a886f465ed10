package io.tiergate.director.ha.internal;

import jnr.ffi.LastError;
import jnr.ffi.LibraryLoader;
import jnr.ffi.Pointer;
import jnr.ffi.Runtime;
import jnr.ffi.annotations.SaveError;
import jnr.ffi.types.size_t;
import jnr.ffi.types.ssize_t;

/** Not API. The few libc calls VRRP needs that the JDK has no API for (raw IP and packet sockets, poll, eventfd). */
public interface LibC {
    int AF_INET = 2;
    int AF_PACKET = 17;
    int AF_INET6 = 10;
    int IPPROTO_IPV6 = 41;
    int IPPROTO_ICMPV6 = 58;
    int IPV6_UNICAST_HOPS = 16;
    int IPV6_MULTICAST_IF = 17;
    int IPV6_MULTICAST_HOPS = 18;
    int IPV6_MULTICAST_LOOP = 19;
    int IPV6_JOIN_GROUP = 20;
    int IPV6_RECVPKTINFO = 49;
    int IPV6_PKTINFO = 50;
    int IPV6_RECVHOPLIMIT = 51;
    int IPV6_HOPLIMIT = 52;
    int ICMP6_FILTER = 1;
    int EADDRNOTAVAIL = 99;
    int SOCK_RAW = 3;
    int SOL_SOCKET = 1;
    int SO_RCVBUF = 8;
    int SO_BINDTODEVICE = 25;
    int IPPROTO_IP = 0;
    int IP_TTL = 2;
    int IP_MULTICAST_IF = 32;
    int IP_MULTICAST_TTL = 33;
    int IP_MULTICAST_LOOP = 34;
    int IP_ADD_MEMBERSHIP = 35;
    int MSG_DONTWAIT = 0x40;
    int POLLIN = 0x1;
    int EFD_NONBLOCK = 0x800;
    int EFD_CLOEXEC = 0x80000;
    int SOCK_CLOEXEC = 0x80000;
    int EAGAIN = 11;
    int EINTR = 4;
    int SCHED_FIFO = 1;

    @SaveError
    int socket(int domain, int type, int protocol);

    @SaveError
    int setsockopt(int fd, int level, int optname, Pointer optval, int optlen);

    @SaveError
    int bind(int fd, Pointer addr, int addrlen);

    @SaveError
    @ssize_t long sendto(int fd, Pointer buf, @size_t long len, int flags, Pointer addr, int addrlen);

    @SaveError
    @ssize_t long recv(int fd, Pointer buf, @size_t long len, int flags);

    @SaveError
    @ssize_t long recvmsg(int fd, Pointer msg, int flags);

    @SaveError
    int poll(Pointer fds, long nfds, int timeoutMs);

    @SaveError
    int eventfd(int initval, int flags);

    @SaveError
    @ssize_t long write(int fd, Pointer buf, @size_t long len);

    @SaveError
    @ssize_t long read(int fd, Pointer buf, @size_t long len);

    int close(int fd);

    String strerror(int errnum);

    @SaveError
    int sched_setscheduler(int pid, int policy, Pointer param);

    /** Loaded on first use so classes that only parse config never touch native code. */
    final class Holder {
        static final LibC C = LibraryLoader.create(LibC.class).load("c");
        static final Runtime RUNTIME = Runtime.getRuntime(C);

        private Holder() {
        }
    }

    static LibC get() {
        return Holder.C;
    }

    static Runtime runtime() {
        return Holder.RUNTIME;
    }

    static int errno() {
        return LastError.getLastError(Holder.RUNTIME);
    }

    static String lastError() {
        int e = errno();
        return Holder.C.strerror(e) + " (errno " + e + ")";
    }
}
