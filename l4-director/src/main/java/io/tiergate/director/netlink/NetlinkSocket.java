package io.tiergate.director.netlink;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;

import jnr.ffi.LibraryLoader;
import jnr.ffi.Runtime;
import jnr.ffi.annotations.In;
import jnr.ffi.annotations.Out;
import jnr.ffi.annotations.SaveError;

/**
 * A blocking AF_NETLINK socket reached through libc via jnr-ffi, with request/reply handling:
 * sequence numbers, ACKs and errors, and multi-part dumps (NLM_F_MULTI ... NLMSG_DONE).
 * Not thread-safe: one writer owns it.
 */
public final class NetlinkSocket implements AutoCloseable {
    private static final int SOCK_RAW = 3;
    private static final int SOCK_CLOEXEC = 0x80000;
    private static final int SOL_SOCKET = 1;
    private static final int SO_SNDBUF = 7;
    private static final int SO_RCVBUF = 8;
    private static final int SO_RCVTIMEO = 20;
    private static final int MSG_TRUNC = 0x20;
    private static final int RECV_BUFFER = 64 * 1024;

    public interface LibC {
        @SaveError int socket(int domain, int type, int protocol);
        @SaveError int bind(int fd, @In byte[] addr, int len);
        @SaveError long send(int fd, @In byte[] buf, long len, int flags);
        @SaveError long recv(int fd, @Out byte[] buf, long len, int flags);
        @SaveError int setsockopt(int fd, int level, int name, @In byte[] value, int len);
        int close(int fd);
    }

    private static volatile LibC libc;

    private final int fd;
    private final byte[] rx = new byte[RECV_BUFFER];
    private int seq = (int) (System.nanoTime() & 0x3fffffff);
    private boolean closed;

    private NetlinkSocket(int fd) {
        this.fd = fd;
    }

    private static LibC libc() {
        LibC l = libc;
        if (l == null) {
            synchronized (NetlinkSocket.class) {
                if (libc == null) {
                    libc = LibraryLoader.create(LibC.class).load("c");
                }
                l = libc;
            }
        }
        return l;
    }

    private static int errno() {
        return Runtime.getRuntime(libc()).getLastError();
    }

    /** Opens and binds a netlink socket of the given protocol (e.g. {@link Netlink#NETLINK_GENERIC}). */
    public static NetlinkSocket open(int protocol) {
        int fd = libc().socket(Netlink.AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, protocol);
        if (fd < 0) {
            int e = errno();
            throw new NetlinkException("socket(AF_NETLINK, " + protocol + ") failed: " + Errno.name(e), e);
        }
        NetlinkSocket s = new NetlinkSocket(fd);
        try {
            byte[] sa = ByteBuffer.allocate(12).order(ByteOrder.nativeOrder())
                    .putShort((short) Netlink.AF_NETLINK).putShort((short) 0).putInt(0).putInt(0).array();
            if (libc().bind(fd, sa, sa.length) < 0) {
                int e = errno();
                throw new NetlinkException("bind(AF_NETLINK) failed: " + Errno.name(e), e);
            }
            s.setInt(SOL_SOCKET, SO_RCVBUF, 1 << 20, false);
            s.setInt(SOL_SOCKET, SO_SNDBUF, 1 << 20, false);
            // Shorter error echoes and the kernel's own error text, where the kernel supports them.
            s.setInt(Netlink.SOL_NETLINK, Netlink.NETLINK_CAP_ACK, 1, false);
            s.setInt(Netlink.SOL_NETLINK, Netlink.NETLINK_EXT_ACK, 1, false);
            s.receiveTimeout(10_000);
        } catch (RuntimeException e) {
            s.close();
            throw e;
        }
        return s;
    }

    /** Bounds every wait for the kernel, so a lost reply is an exception, not a hang. */
    public void receiveTimeout(long millis) {
        byte[] tv = ByteBuffer.allocate(16).order(ByteOrder.nativeOrder())
                .putLong(millis / 1000).putLong((millis % 1000) * 1000).array();
        if (libc().setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, tv, tv.length) < 0) {
            int e = errno();
            throw new NetlinkException("setsockopt(SO_RCVTIMEO) failed: " + Errno.name(e), e);
        }
    }

    private void setInt(int level, int name, int value, boolean required) {
        byte[] v = ByteBuffer.allocate(4).order(ByteOrder.nativeOrder()).putInt(value).array();
        if (libc().setsockopt(fd, level, name, v, 4) < 0 && required) {
            int e = errno();
            throw new NetlinkException("setsockopt(" + level + ", " + name + ") failed: " + Errno.name(e), e);
        }
    }

    /** The next sequence number; put it in the request passed to {@link #request}. */
    public int nextSeq() {
        seq = (seq + 1) & 0x7fffffff;
        return seq;
    }

    public void send(byte[] message) {
        long n = libc().send(fd, message, message.length, 0);
        if (n < 0) {
            int e = errno();
            throw new NetlinkException("send on netlink socket failed: " + Errno.name(e), e);
        }
        if (n != message.length) {
            throw new NetlinkProtocolException("short send: " + n + " of " + message.length + " bytes");
        }
    }

    /** Receives one datagram (which may hold several messages). */
    public List<NlMessage> receive() {
        long n;
        do {
            n = libc().recv(fd, rx, rx.length, 0);
        } while (n < 0 && errno() == Errno.EINTR);
        if (n < 0) {
            int e = errno();
            if (e == Errno.EAGAIN) {
                throw new NetlinkException("no reply from the kernel within the receive timeout", e);
            }
            throw new NetlinkException("recv on netlink socket failed: " + Errno.name(e), e);
        }
        // A copy: replies outlive the next recv into the shared buffer (a dump's messages, then its ACK).
        return NlMessage.parseAll(ByteBuffer.wrap(java.util.Arrays.copyOf(rx, (int) n)));
    }

    /**
     * Sends a request carrying sequence number {@code seq} and collects its replies: for a dump
     * (NLM_F_DUMP) every message up to NLMSG_DONE; otherwise every reply up to the ACK (the request
     * must carry NLM_F_ACK). A negative error becomes a {@link NetlinkException} whose message is
     * {@code what} + the errno name (+ the kernel's extended-ack text).
     */
    public List<NlMessage> request(byte[] message, int seq, String what) {
        send(message);
        List<NlMessage> replies = new ArrayList<>();
        while (true) {
            for (NlMessage m : receive()) {
                if (m.seq() != seq) {
                    continue; // a late reply to an earlier, abandoned request
                }
                switch (m.type()) {
                    case Netlink.NLMSG_ERROR -> {
                        int err = m.error();
                        if (err == 0) {
                            return replies;
                        }
                        String ext = m.extAckMessage();
                        throw new NetlinkException(what + ": " + Errno.name(-err) + (ext == null ? "" : " (" + ext + ")"), -err);
                    }
                    case Netlink.NLMSG_DONE -> {
                        return replies;
                    }
                    case Netlink.NLMSG_NOOP -> { }
                    case Netlink.NLMSG_OVERRUN -> throw new NetlinkProtocolException(what + ": netlink overrun");
                    default -> {
                        if ((m.flags() & Netlink.NLM_F_DUMP_INTR) != 0) {
                            throw new NetlinkException(what + ": dump interrupted by a concurrent change, retry", Errno.EINTR);
                        }
                        replies.add(m);
                    }
                }
            }
        }
    }

    /**
     * Pipelines many requests that each carry NLM_F_ACK: sends them in large chunks and reads
     * the acks, so a thousand changes cost a handful of system calls instead of two thousand.
     * Returns the errno (0 = success) of each request, in order.
     */
    public int[] requestAll(List<byte[]> messages, int firstSeq) {
        int[] result = new int[messages.size()];
        int sent = 0;
        int acked = 0;
        byte[] chunk = new byte[RECV_BUFFER / 2];
        while (acked < messages.size()) {
            // Keep the unacknowledged window small enough that acks can't overflow the receive buffer.
            int windowEnd = Math.min(messages.size(), acked + 256);
            while (sent < windowEnd) {
                int used = 0;
                int start = sent;
                while (sent < windowEnd && used + messages.get(sent).length <= chunk.length) {
                    byte[] m = messages.get(sent);
                    System.arraycopy(m, 0, chunk, used, m.length);
                    used += m.length;
                    sent++;
                }
                if (sent == start) {
                    send(messages.get(sent++));
                } else {
                    long n = libc().send(fd, chunk, used, 0);
                    if (n < 0) {
                        int e = errno();
                        throw new NetlinkException("send on netlink socket failed: " + Errno.name(e), e);
                    }
                }
            }
            for (NlMessage m : receive()) {
                if (m.type() != Netlink.NLMSG_ERROR) {
                    continue;
                }
                int idx = m.seq() - firstSeq;
                if (idx >= 0 && idx < result.length) {
                    result[idx] = -m.error();
                    acked++;
                }
            }
        }
        return result;
    }

    /** Reserves {@code n} consecutive sequence numbers and returns the first. */
    public int reserveSeqs(int n) {
        int first = nextSeq();
        seq = (first + n - 1) & 0x7fffffff;
        if (first + n - 1 < first) { // wrapped: start again from a small number
            seq = 1;
            return reserveSeqs(n);
        }
        return first;
    }

    /** Resolves a generic-netlink family id by name (CTRL_CMD_GETFAMILY); throws ENOENT if unknown. */
    public int resolveFamily(String name) {
        int s = nextSeq();
        List<NlMessage> replies = request(getFamilyRequest(name, s), s, "looking up generic netlink family " + name);
        for (NlMessage m : replies) {
            NlAttrs a = m.genlAttrs();
            if (a.has(Netlink.CTRL_ATTR_FAMILY_ID)) {
                return a.u16(Netlink.CTRL_ATTR_FAMILY_ID);
            }
        }
        throw new NetlinkProtocolException("nlctrl replied without a family id for " + name);
    }

    /** The CTRL_CMD_GETFAMILY request for {@code name}. */
    public static byte[] getFamilyRequest(String name, int seq) {
        return NlBuilder.genl(Netlink.GENL_ID_CTRL, Netlink.NLM_F_REQUEST | Netlink.NLM_F_ACK, seq, Netlink.CTRL_CMD_GETFAMILY, 1)
                .string(Netlink.CTRL_ATTR_FAMILY_NAME, name)
                .build();
    }

    @Override
    public void close() {
        if (!closed) {
            closed = true;
            libc().close(fd);
        }
    }
}
