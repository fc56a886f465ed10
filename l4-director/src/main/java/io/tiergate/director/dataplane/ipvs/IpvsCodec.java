package io.tiergate.director.dataplane.ipvs;

import static io.tiergate.director.dataplane.ipvs.IpvsWire.*;

import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import io.tiergate.director.netlink.Netlink;
import io.tiergate.director.netlink.NetlinkProtocolException;
import io.tiergate.director.netlink.NlAttrs;
import io.tiergate.director.netlink.NlBuilder;
import io.tiergate.director.netlink.NlMessage;

/**
 * Turns the model records into IPVS generic-netlink requests and dump replies back into records.
 * Pure: no socket, no kernel; the family id (resolved by name at run time) is a constructor argument.
 *
 * <p>Layout notes that the uapi header leaves implicit: addresses are always sent as 16 bytes
 * (union nf_inet_addr, IPv4 in the first 4); ports are big-endian; the persistence netmask is an
 * IPv4 mask in network byte order, but a prefix length (native u32) for IPv6.
 */
public final class IpvsCodec {
    private static final int DO = Netlink.NLM_F_REQUEST | Netlink.NLM_F_ACK;
    private static final int DUMP = Netlink.NLM_F_REQUEST | Netlink.NLM_F_DUMP;

    private final int familyId;

    public IpvsCodec(int familyId) {
        this.familyId = familyId;
    }

    public int familyId() {
        return familyId;
    }

    // ---- requests ----

    public byte[] getInfo(int seq) {
        return msg(DO, seq, CMD_GET_INFO).build();
    }

    public byte[] newService(int seq, IpvsService s) {
        return serviceRequest(CMD_NEW_SERVICE, seq, s, true);
    }

    public byte[] setService(int seq, IpvsService s) {
        return serviceRequest(CMD_SET_SERVICE, seq, s, true);
    }

    public byte[] delService(int seq, IpvsService s) {
        return serviceRequest(CMD_DEL_SERVICE, seq, s, false);
    }

    /** Reads one service back (not a dump): replies with that service or ESRCH. */
    public byte[] getService(int seq, IpvsService s) {
        return serviceRequest(CMD_GET_SERVICE, seq, s, false);
    }

    public byte[] dumpServices(int seq) {
        return msg(DUMP, seq, CMD_GET_SERVICE).build();
    }

    public byte[] newDestination(int seq, IpvsService s, IpvsDestination d) {
        return destRequest(CMD_NEW_DEST, seq, s, d, true);
    }

    public byte[] setDestination(int seq, IpvsService s, IpvsDestination d) {
        return destRequest(CMD_SET_DEST, seq, s, d, true);
    }

    public byte[] delDestination(int seq, IpvsService s, IpvsDestination d) {
        return destRequest(CMD_DEL_DEST, seq, s, d, false);
    }

    public byte[] dumpDestinations(int seq, IpvsService s) {
        NlBuilder b = msg(DUMP, seq, CMD_GET_DEST);
        putService(b, s, false);
        return b.build();
    }

    public byte[] newDaemon(int seq, IpvsDaemon d) {
        NlBuilder b = msg(DO, seq, CMD_NEW_DAEMON);
        int nest = b.begin(CMD_ATTR_DAEMON);
        b.u32(DAEMON_STATE, d.state().code())
                .string(DAEMON_MCAST_IFN, d.interfaceName())
                .u32(DAEMON_SYNC_ID, d.syncId());
        if (d.maxLength() > 0) {
            b.u16(DAEMON_SYNC_MAXLEN, d.maxLength());
        }
        if (d.group() != null) {
            b.bytes(d.group() instanceof Inet4Address ? DAEMON_MCAST_GROUP : DAEMON_MCAST_GROUP6, d.group().getAddress());
        }
        if (d.port() > 0) {
            b.u16(DAEMON_MCAST_PORT, d.port());
        }
        if (d.ttl() > 0) {
            b.u8(DAEMON_MCAST_TTL, d.ttl());
        }
        return b.end(nest).build();
    }

    public byte[] delDaemon(int seq, IpvsDaemon.State state) {
        NlBuilder b = msg(DO, seq, CMD_DEL_DAEMON);
        int nest = b.begin(CMD_ATTR_DAEMON);
        b.u32(DAEMON_STATE, state.code());
        return b.end(nest).build();
    }

    public byte[] dumpDaemons(int seq) {
        return msg(DUMP, seq, CMD_GET_DAEMON).build();
    }

    public byte[] setConfig(int seq, IpvsTimeouts t) {
        return msg(DO, seq, CMD_SET_CONFIG)
                .u32(CMD_ATTR_TIMEOUT_TCP, t.tcp())
                .u32(CMD_ATTR_TIMEOUT_TCP_FIN, t.tcpFin())
                .u32(CMD_ATTR_TIMEOUT_UDP, t.udp())
                .build();
    }

    public byte[] getConfig(int seq) {
        return msg(DO, seq, CMD_GET_CONFIG).build();
    }

    /** Zeroes the counters of every service. */
    public byte[] zero(int seq) {
        return msg(DO, seq, CMD_ZERO).build();
    }

    public byte[] zero(int seq, IpvsService s) {
        return serviceRequest(CMD_ZERO, seq, s, false);
    }

    /** Removes every service (ipvsadm -C). */
    public byte[] flush(int seq) {
        return msg(DO, seq, CMD_FLUSH).build();
    }

    private NlBuilder msg(int flags, int seq, int cmd) {
        return NlBuilder.genl(familyId, flags, seq, cmd, GENL_VERSION);
    }

    private byte[] serviceRequest(int cmd, int seq, IpvsService s, boolean full) {
        NlBuilder b = msg(DO, seq, cmd);
        putService(b, s, full);
        return b.build();
    }

    private byte[] destRequest(int cmd, int seq, IpvsService s, IpvsDestination d, boolean full) {
        NlBuilder b = msg(DO, seq, cmd);
        putService(b, s, false);
        int nest = b.begin(CMD_ATTR_DEST);
        b.bytes(DEST_ADDR, addr16(d.address()))
                .be16(DEST_PORT, d.port())
                .u16(DEST_ADDR_FAMILY, d.family().af());
        if (full) {
            b.u32(DEST_FWD_METHOD, d.forwarding().code())
                    .u32(DEST_WEIGHT, d.weight());
            if (d.forwarding() == IpvsForwarding.TUNNEL) {
                b.u8(DEST_TUN_TYPE, d.tunnelType().code())
                        .be16(DEST_TUN_PORT, d.tunnelPort())
                        .u16(DEST_TUN_FLAGS, d.tunnelFlags());
            }
            b.u32(DEST_U_THRESH, d.upperThreshold())
                    .u32(DEST_L_THRESH, d.lowerThreshold());
        }
        b.end(nest);
        return b.build();
    }

    private static void putService(NlBuilder b, IpvsService s, boolean full) {
        int nest = b.begin(CMD_ATTR_SERVICE);
        b.u16(SVC_AF, s.family().af());
        if (s.isFwmark()) {
            b.u32(SVC_FWMARK, s.fwmark());
        } else {
            b.u16(SVC_PROTOCOL, s.protocol().number())
                    .bytes(SVC_ADDR, addr16(s.address()))
                    .be16(SVC_PORT, s.port());
        }
        if (full) {
            b.string(SVC_SCHED_NAME, s.scheduler());
            if (s.persistenceEngine() != null) {
                b.string(SVC_PE_NAME, s.persistenceEngine());
            }
            int flags = (s.persistent() ? SVC_F_PERSISTENT : 0) | (s.onePacket() ? SVC_F_ONEPACKET : 0)
                    | (s.schedulerFlags() << SVC_F_SCHED_SHIFT);
            // struct ip_vs_flags { __u32 flags; __u32 mask; }: the mask says which bits to set.
            b.bytes(SVC_FLAGS, java.nio.ByteBuffer.allocate(8).order(java.nio.ByteOrder.nativeOrder())
                    .putInt(flags).putInt(0xffffffff).array());
            b.u32(SVC_TIMEOUT, s.timeoutSeconds());
            if (s.family() == IpvsFamily.INET) {
                int mask = s.netmaskPrefix() == 0 ? 0 : -1 << (32 - s.netmaskPrefix());
                b.bytes(SVC_NETMASK, new byte[] {(byte) (mask >>> 24), (byte) (mask >>> 16), (byte) (mask >>> 8), (byte) mask});
            } else {
                b.u32(SVC_NETMASK, s.netmaskPrefix());
            }
        }
        b.end(nest);
    }

    static byte[] addr16(InetAddress a) {
        return Arrays.copyOf(a.getAddress(), 16);
    }

    // ---- replies ----

    public static IpvsInfo decodeInfo(List<NlMessage> replies) {
        NlAttrs a = only(replies, "GET_INFO").genlAttrs();
        return new IpvsInfo(a.u32(INFO_VERSION), a.u32(INFO_CONN_TAB_SIZE));
    }

    public static IpvsTimeouts decodeTimeouts(List<NlMessage> replies) {
        NlAttrs a = only(replies, "GET_CONFIG").genlAttrs();
        return new IpvsTimeouts(a.u32or(CMD_ATTR_TIMEOUT_TCP, 0), a.u32or(CMD_ATTR_TIMEOUT_TCP_FIN, 0), a.u32or(CMD_ATTR_TIMEOUT_UDP, 0));
    }

    public static List<IpvsService> decodeServices(List<NlMessage> replies) {
        List<IpvsService> out = new ArrayList<>(replies.size());
        for (NlMessage m : replies) {
            NlAttrs a = m.genlAttrs();
            if (a.has(CMD_ATTR_SERVICE)) {
                out.add(decodeService(a.nested(CMD_ATTR_SERVICE)));
            }
        }
        return out;
    }

    public static List<IpvsDestination> decodeDestinations(List<NlMessage> replies, IpvsFamily serviceFamily) {
        List<IpvsDestination> out = new ArrayList<>(replies.size());
        for (NlMessage m : replies) {
            NlAttrs a = m.genlAttrs();
            if (a.has(CMD_ATTR_DEST)) {
                out.add(decodeDestination(a.nested(CMD_ATTR_DEST), serviceFamily));
            }
        }
        return out;
    }

    public static List<IpvsDaemon> decodeDaemons(List<NlMessage> replies) {
        List<IpvsDaemon> out = new ArrayList<>();
        for (NlMessage m : replies) {
            NlAttrs a = m.genlAttrs();
            if (a.has(CMD_ATTR_DAEMON)) {
                NlAttrs d = a.nested(CMD_ATTR_DAEMON);
                InetAddress group = null;
                if (d.has(DAEMON_MCAST_GROUP)) {
                    group = address(d.bytes(DAEMON_MCAST_GROUP), 4);
                } else if (d.has(DAEMON_MCAST_GROUP6)) {
                    group = address(d.bytes(DAEMON_MCAST_GROUP6), 16);
                }
                out.add(new IpvsDaemon(IpvsDaemon.State.ofCode(d.u32(DAEMON_STATE)), d.string(DAEMON_MCAST_IFN),
                        d.u32(DAEMON_SYNC_ID), d.has(DAEMON_SYNC_MAXLEN) ? d.u16(DAEMON_SYNC_MAXLEN) : 0, group,
                        d.has(DAEMON_MCAST_PORT) ? d.u16(DAEMON_MCAST_PORT) : 0,
                        d.has(DAEMON_MCAST_TTL) ? d.u8(DAEMON_MCAST_TTL) : 0));
            }
        }
        return out;
    }

    static IpvsService decodeService(NlAttrs a) {
        IpvsFamily family = IpvsFamily.ofAf(a.u16(SVC_AF));
        IpvsService.Builder b;
        int fwmark = a.has(SVC_FWMARK) ? a.u32(SVC_FWMARK) : 0;
        if (fwmark != 0) {
            b = IpvsService.fwmark(family, fwmark);
        } else {
            b = IpvsService.builder(IpvsProtocol.ofNumber(a.u16(SVC_PROTOCOL)),
                    address(a.bytes(SVC_ADDR), family.addressLength()), a.be16(SVC_PORT));
        }
        int flags = a.has(SVC_FLAGS) ? a.u32(SVC_FLAGS) : 0; // first u32 of struct ip_vs_flags
        int timeout = a.has(SVC_TIMEOUT) ? a.u32(SVC_TIMEOUT) : 0;
        b.scheduler(a.string(SVC_SCHED_NAME))
                .onePacket((flags & SVC_F_ONEPACKET) != 0)
                .schedulerFlags((flags >>> SVC_F_SCHED_SHIFT) & 7);
        if ((flags & SVC_F_PERSISTENT) != 0) {
            b.persistent(timeout);
        }
        if (a.has(SVC_NETMASK)) {
            if (family == IpvsFamily.INET) {
                byte[] m = a.bytes(SVC_NETMASK);
                int mask = ((m[0] & 0xff) << 24) | ((m[1] & 0xff) << 16) | ((m[2] & 0xff) << 8) | (m[3] & 0xff);
                b.netmaskPrefix(Integer.bitCount(mask));
            } else {
                b.netmaskPrefix(a.u32(SVC_NETMASK));
            }
        }
        if (a.has(SVC_PE_NAME)) {
            b.persistenceEngine(a.string(SVC_PE_NAME));
        }
        b.stats(decodeStats(a, SVC_STATS64, SVC_STATS));
        return b.build();
    }

    static IpvsDestination decodeDestination(NlAttrs a, IpvsFamily serviceFamily) {
        IpvsFamily family = a.has(DEST_ADDR_FAMILY) ? IpvsFamily.ofAf(a.u16(DEST_ADDR_FAMILY)) : serviceFamily;
        IpvsDestination.Builder b = IpvsDestination.builder(address(a.bytes(DEST_ADDR), family.addressLength()), a.be16(DEST_PORT))
                .forwarding(IpvsForwarding.ofCode(a.u32(DEST_FWD_METHOD)))
                .weight(a.u32(DEST_WEIGHT))
                .thresholds(a.u32or(DEST_U_THRESH, 0), a.u32or(DEST_L_THRESH, 0))
                .connections(a.u32or(DEST_ACTIVE_CONNS, 0), a.u32or(DEST_INACT_CONNS, 0), a.u32or(DEST_PERSIST_CONNS, 0))
                .stats(decodeStats(a, DEST_STATS64, DEST_STATS));
        if (a.has(DEST_TUN_TYPE)) {
            b.tunnel(IpvsTunnelType.ofCode(a.u8(DEST_TUN_TYPE)), a.has(DEST_TUN_PORT) ? a.be16(DEST_TUN_PORT) : 0,
                    a.has(DEST_TUN_FLAGS) ? a.u16(DEST_TUN_FLAGS) : 0);
        }
        return b.build();
    }

    /** Prefers the 64-bit set; the 32-bit one has u32 counters and u64 byte totals. */
    static IpvsStats decodeStats(NlAttrs parent, int attr64, int attr32) {
        int attr = parent.has(attr64) ? attr64 : attr32;
        if (!parent.has(attr)) {
            return IpvsStats.ZERO;
        }
        NlAttrs s = parent.nested(attr);
        return new IpvsStats(n(s, STATS_CONNS), n(s, STATS_INPKTS), n(s, STATS_OUTPKTS), n(s, STATS_INBYTES),
                n(s, STATS_OUTBYTES), n(s, STATS_CPS), n(s, STATS_INPPS), n(s, STATS_OUTPPS), n(s, STATS_INBPS),
                n(s, STATS_OUTBPS));
    }

    private static long n(NlAttrs s, int type) {
        return s.has(type) ? s.unsigned(type) : 0;
    }

    private static InetAddress address(byte[] raw, int len) {
        if (raw.length < len) {
            throw new NetlinkProtocolException("address of " + raw.length + " bytes (expected: >= " + len + ")");
        }
        try {
            return InetAddress.getByAddress(Arrays.copyOf(raw, len));
        } catch (UnknownHostException e) {
            throw new NetlinkProtocolException("bad address: " + e.getMessage());
        }
    }

    private static NlMessage only(List<NlMessage> replies, String what) {
        if (replies.isEmpty()) {
            throw new NetlinkProtocolException(what + ": no reply from the kernel");
        }
        return replies.get(0);
    }
}
