package io.tiergate.director.dataplane.ipvs;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.net.InetAddress;
import java.nio.ByteOrder;
import java.util.HexFormat;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import io.tiergate.director.netlink.NetlinkSocket;

/**
 * Requests compared byte for byte with messages assembled by hand from the uapi layout
 * (linux/netlink.h, linux/genetlink.h, linux/ip_vs.h). Family id 0x23 and the sequence numbers
 * are arbitrary; x86-64 little-endian.
 */
class IpvsCodecGoldenTest {
    private static final int FAMILY = 0x23;
    private static final int REQUEST_ACK = 0x0005; // NLM_F_REQUEST | NLM_F_ACK
    private static final int REQUEST_DUMP = 0x0301; // NLM_F_REQUEST | NLM_F_ROOT | NLM_F_MATCH
    private final IpvsCodec codec = new IpvsCodec(FAMILY);

    private static final InetAddress VIP = addr("10.0.0.1");
    private static final IpvsService WEB = IpvsService.tcp(VIP, 80).scheduler("wrr").persistent(300).build();
    private static final IpvsDestination RS1 = IpvsDestination.builder(addr("10.0.1.11"), 80)
            .forwarding(IpvsForwarding.ROUTE).weight(3).build();

    @BeforeAll
    static void littleEndian() {
        assumeTrue(ByteOrder.nativeOrder() == ByteOrder.LITTLE_ENDIAN, "golden bytes are little-endian; this host is big-endian");
    }

    /** IPVS_CMD_ATTR_SERVICE with only the key of TCP 10.0.0.1:80: 48 bytes. */
    private static Wire webKey(Wire w) {
        return w.nest(48, 1)                              // IPVS_CMD_ATTR_SERVICE, nested
                .nla(6, 1).u16(2).zeros(2)                // IPVS_SVC_ATTR_AF = AF_INET, pad
                .nla(6, 2).u16(6).zeros(2)                // IPVS_SVC_ATTR_PROTOCOL = IPPROTO_TCP, pad
                .nla(20, 3).raw(10, 0, 0, 1).zeros(12)    // IPVS_SVC_ATTR_ADDR: union nf_inet_addr, 16 bytes
                .nla(6, 4).be16(80).zeros(2);             // IPVS_SVC_ATTR_PORT: __be16 80, pad
    }

    /** IPVS_CMD_ATTR_DEST for 10.0.1.11:80 route with the given weight: 72 bytes. */
    private static Wire rs1(Wire w, int weight) {
        return w.nest(72, 2)                              // IPVS_CMD_ATTR_DEST, nested
                .nla(20, 1).raw(10, 0, 1, 11).zeros(12)   // IPVS_DEST_ATTR_ADDR, 16 bytes
                .nla(6, 2).be16(80).zeros(2)              // IPVS_DEST_ATTR_PORT: __be16
                .nla(6, 11).u16(2).zeros(2)               // IPVS_DEST_ATTR_ADDR_FAMILY = AF_INET
                .nla(8, 3).u32(3)                         // IPVS_DEST_ATTR_FWD_METHOD = IP_VS_CONN_F_DROUTE
                .nla(8, 4).u32(weight)                    // IPVS_DEST_ATTR_WEIGHT
                .nla(8, 5).u32(0)                         // IPVS_DEST_ATTR_U_THRESH: no limit
                .nla(8, 6).u32(0);                        // IPVS_DEST_ATTR_L_THRESH
    }

    @Test
    void newServiceIpv4TcpWrrPersistent() {
        byte[] expected = Wire.bytes()
                .nlmsghdr(104, FAMILY, REQUEST_ACK, 7)
                .genlmsghdr(1, 1)                         // IPVS_CMD_NEW_SERVICE, IPVS_GENL_VERSION
                .nest(84, 1)                              // IPVS_CMD_ATTR_SERVICE
                .nla(6, 1).u16(2).zeros(2)                // AF_INET
                .nla(6, 2).u16(6).zeros(2)                // IPPROTO_TCP
                .nla(20, 3).raw(10, 0, 0, 1).zeros(12)    // 10.0.0.1
                .nla(6, 4).be16(80).zeros(2)              // port 80
                .nla(8, 6).ascii("wrr").u8(0)             // IPVS_SVC_ATTR_SCHED_NAME "wrr\0"
                .nla(12, 7).u32(0x1).u32(0xffffffff)      // IPVS_SVC_ATTR_FLAGS {IP_VS_SVC_F_PERSISTENT, mask all}
                .nla(8, 8).u32(300)                       // IPVS_SVC_ATTR_TIMEOUT 300 s
                .nla(8, 9).raw(0xff, 0xff, 0xff, 0xff)    // IPVS_SVC_ATTR_NETMASK 255.255.255.255 (__be32)
                .build();
        assertBytes(codec.newService(7, WEB), expected);
    }

    @Test
    void newDestDirectRouteWeight3() {
        byte[] expected = rs1(webKey(Wire.bytes()
                .nlmsghdr(140, FAMILY, REQUEST_ACK, 8)
                .genlmsghdr(5, 1)), 3)                    // IPVS_CMD_NEW_DEST
                .build();
        assertBytes(codec.newDestination(8, WEB, RS1), expected);
    }

    @Test
    void setDestQuiescesToWeight0() {
        byte[] expected = rs1(webKey(Wire.bytes()
                .nlmsghdr(140, FAMILY, REQUEST_ACK, 9)
                .genlmsghdr(6, 1)), 0)                    // IPVS_CMD_SET_DEST
                .build();
        assertBytes(codec.setDestination(9, WEB, RS1.toBuilder().weight(0).build()), expected);
    }

    @Test
    void delDestCarriesOnlyTheKeys() {
        byte[] expected = webKey(Wire.bytes()
                .nlmsghdr(108, FAMILY, REQUEST_ACK, 10)
                .genlmsghdr(7, 1))                        // IPVS_CMD_DEL_DEST
                .nest(40, 2)                              // key only: ADDR 20 + PORT 8 + ADDR_FAMILY 8
                .nla(20, 1).raw(10, 0, 1, 11).zeros(12)
                .nla(6, 2).be16(80).zeros(2)
                .nla(6, 11).u16(2).zeros(2)
                .build();
        assertBytes(codec.delDestination(10, WEB, RS1), expected);
    }

    @Test
    void delServiceCarriesOnlyTheKey() {
        byte[] expected = webKey(Wire.bytes()
                .nlmsghdr(68, FAMILY, REQUEST_ACK, 11)
                .genlmsghdr(3, 1))                        // IPVS_CMD_DEL_SERVICE
                .build();
        assertBytes(codec.delService(11, WEB), expected);
    }

    @Test
    void getServiceDumpRequest() {
        byte[] expected = Wire.bytes()
                .nlmsghdr(20, FAMILY, REQUEST_DUMP, 12)
                .genlmsghdr(4, 1)                         // IPVS_CMD_GET_SERVICE, no attributes
                .build();
        assertBytes(codec.dumpServices(12), expected);
    }

    @Test
    void getDestDumpNamesTheService() {
        byte[] expected = webKey(Wire.bytes()
                .nlmsghdr(68, FAMILY, REQUEST_DUMP, 13)
                .genlmsghdr(8, 1))                        // IPVS_CMD_GET_DEST
                .build();
        assertBytes(codec.dumpDestinations(13, WEB), expected);
    }

    @Test
    void newDaemonMaster() {
        byte[] expected = Wire.bytes()
                .nlmsghdr(52, FAMILY, REQUEST_ACK, 14)
                .genlmsghdr(9, 1)                         // IPVS_CMD_NEW_DAEMON
                .nest(32, 3)                              // IPVS_CMD_ATTR_DAEMON
                .nla(8, 1).u32(1)                         // IPVS_DAEMON_ATTR_STATE = IP_VS_STATE_MASTER
                .nla(9, 2).ascii("eth0").u8(0).zeros(3)   // IPVS_DAEMON_ATTR_MCAST_IFN "eth0\0", pad 3
                .nla(8, 3).u32(7)                         // IPVS_DAEMON_ATTR_SYNC_ID
                .build();
        assertBytes(codec.newDaemon(14, IpvsDaemon.of(IpvsDaemon.State.MASTER, "eth0", 7)), expected);
    }

    @Test
    void delDaemonBackup() {
        byte[] expected = Wire.bytes()
                .nlmsghdr(32, FAMILY, REQUEST_ACK, 15)
                .genlmsghdr(10, 1)                        // IPVS_CMD_DEL_DAEMON
                .nest(12, 3)
                .nla(8, 1).u32(2)                         // IP_VS_STATE_BACKUP
                .build();
        assertBytes(codec.delDaemon(15, IpvsDaemon.State.BACKUP), expected);
    }

    @Test
    void setConfigTimeouts() {
        byte[] expected = Wire.bytes()
                .nlmsghdr(44, FAMILY, REQUEST_ACK, 16)
                .genlmsghdr(12, 1)                        // IPVS_CMD_SET_CONFIG
                .nla(8, 4).u32(900)                       // IPVS_CMD_ATTR_TIMEOUT_TCP
                .nla(8, 5).u32(120)                       // IPVS_CMD_ATTR_TIMEOUT_TCP_FIN
                .nla(8, 6).u32(300)                       // IPVS_CMD_ATTR_TIMEOUT_UDP
                .build();
        assertBytes(codec.setConfig(16, new IpvsTimeouts(900, 120, 300)), expected);
    }

    @Test
    void getInfoFlushAndZeroHaveNoAttributes() {
        assertBytes(codec.getInfo(17), Wire.bytes().nlmsghdr(20, FAMILY, REQUEST_ACK, 17).genlmsghdr(15, 1).build());
        assertBytes(codec.flush(18), Wire.bytes().nlmsghdr(20, FAMILY, REQUEST_ACK, 18).genlmsghdr(17, 1).build());
        assertBytes(codec.zero(19), Wire.bytes().nlmsghdr(20, FAMILY, REQUEST_ACK, 19).genlmsghdr(16, 1).build());
        assertBytes(codec.getConfig(20), Wire.bytes().nlmsghdr(20, FAMILY, REQUEST_ACK, 20).genlmsghdr(13, 1).build());
    }

    @Test
    void getFamilyAsksNlctrlByName() {
        byte[] expected = Wire.bytes()
                .nlmsghdr(32, 0x10, REQUEST_ACK, 21)      // GENL_ID_CTRL
                .genlmsghdr(3, 1)                         // CTRL_CMD_GETFAMILY
                .nla(9, 2).ascii("IPVS").u8(0).zeros(3)   // CTRL_ATTR_FAMILY_NAME "IPVS\0", pad 3
                .build();
        assertBytes(NetlinkSocket.getFamilyRequest("IPVS", 21), expected);
    }

    @Test
    void newServiceIpv6FwmarkOnePacket() {
        IpvsService svc = IpvsService.fwmark(IpvsFamily.INET6, 42).scheduler("rr").onePacket(true).build();
        byte[] expected = Wire.bytes()
                .nlmsghdr(76, FAMILY, REQUEST_ACK, 22)
                .genlmsghdr(1, 1)
                .nest(56, 1)
                .nla(6, 1).u16(10).zeros(2)               // AF_INET6
                .nla(8, 5).u32(42)                        // IPVS_SVC_ATTR_FWMARK
                .nla(7, 6).ascii("rr").u8(0).zeros(1)     // "rr\0", pad 1
                .nla(12, 7).u32(0x4).u32(0xffffffff)      // IP_VS_SVC_F_ONEPACKET
                .nla(8, 8).u32(0)                         // no persistence timeout
                .nla(8, 9).u32(128)                       // IPv6 netmask: a prefix length, native u32
                .build();
        assertBytes(codec.newService(22, svc), expected);
    }

    @Test
    void ipv6TcpServiceKeyCarriesAll16AddressBytes() {
        IpvsService svc = IpvsService.tcp(addr("2001:db8::1"), 443).build();
        byte[] expected = Wire.bytes()
                .nlmsghdr(68, FAMILY, REQUEST_ACK, 23)
                .genlmsghdr(3, 1)
                .nest(48, 1)
                .nla(6, 1).u16(10).zeros(2)
                .nla(6, 2).u16(6).zeros(2)
                .nla(20, 3).raw(0x20, 0x01, 0x0d, 0xb8).zeros(11).raw(1)
                .nla(6, 4).be16(443).zeros(2)
                .build();
        assertBytes(codec.delService(23, svc), expected);
    }

    @Test
    void tunnelGueDestinationCarriesTunnelAttributes() {
        IpvsDestination gue = IpvsDestination.builder(addr("10.0.1.12"), 80)
                .forwarding(IpvsForwarding.TUNNEL).tunnel(IpvsTunnelType.GUE, 6080, 1).weight(1).build();
        byte[] expected = webKey(Wire.bytes()
                .nlmsghdr(164, FAMILY, REQUEST_ACK, 24)
                .genlmsghdr(5, 1))
                .nest(96, 2)
                .nla(20, 1).raw(10, 0, 1, 12).zeros(12)
                .nla(6, 2).be16(80).zeros(2)
                .nla(6, 11).u16(2).zeros(2)
                .nla(8, 3).u32(2)                         // IP_VS_CONN_F_TUNNEL
                .nla(8, 4).u32(1)
                .nla(5, 13).u8(1).zeros(3)                // IPVS_DEST_ATTR_TUN_TYPE = GUE (u8), pad 3
                .nla(6, 14).be16(6080).zeros(2)           // IPVS_DEST_ATTR_TUN_PORT (__be16)
                .nla(6, 15).u16(1).zeros(2)               // IPVS_DEST_ATTR_TUN_FLAGS = CSUM
                .nla(8, 5).u32(0)
                .nla(8, 6).u32(0)
                .build();
        assertBytes(codec.newDestination(24, WEB, gue), expected);
    }

    @Test
    void persistenceNetmaskIsNetworkOrderForIpv4() {
        IpvsService svc = WEB.toBuilder().netmaskPrefix(24).build();
        byte[] bytes = codec.newService(25, svc);
        // The NETMASK attribute is the service nest's last 8 bytes.
        assertThat(HexFormat.of().formatHex(bytes, bytes.length - 8, bytes.length)).isEqualTo("08000900ffffff00");
    }

    static void assertBytes(byte[] actual, byte[] expected) {
        assertThat(HexFormat.ofDelimiter(" ").formatHex(actual))
                .as("netlink bytes (expected %d bytes, got %d)", expected.length, actual.length)
                .isEqualTo(HexFormat.ofDelimiter(" ").formatHex(expected));
    }

    static InetAddress addr(String s) {
        try {
            return InetAddress.getByName(s);
        } catch (java.net.UnknownHostException e) {
            throw new AssertionError(e);
        }
    }
}
