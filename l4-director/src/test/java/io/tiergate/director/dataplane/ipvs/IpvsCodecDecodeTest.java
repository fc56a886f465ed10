package io.tiergate.director.dataplane.ipvs;

import static io.tiergate.director.dataplane.ipvs.IpvsCodecGoldenTest.addr;
import static io.tiergate.director.dataplane.ipvs.Tlv.*;
import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.List;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import io.tiergate.director.netlink.NlMessage;

/** Dump replies as the kernel's ip_vs_genl_fill_* functions lay them out, decoded into model records. */
class IpvsCodecDecodeTest {
    private static final int F = 0x23;
    private static final int MULTI = 0x2;

    @BeforeAll
    static void littleEndian() {
        assumeTrue(ByteOrder.nativeOrder() == ByteOrder.LITTLE_ENDIAN, "test replies are little-endian; this host is big-endian");
    }

    private static byte[] stats32(int type, long conns, long inpkts, long inbytes) {
        return nest(type, u32(1, conns), u32(2, inpkts), u32(3, 0), u64(4, inbytes), u64(5, 0),
                u32(6, 1), u32(7, 2), u32(8, 0), u32(9, 300), u32(10, 0));
    }

    private static byte[] stats64(int type, long conns, long inpkts, long inbytes) {
        return nest(type, u64(1, conns), u64(2, inpkts), u64(3, 0), u64(4, inbytes), u64(5, 0),
                u64(6, 1), u64(7, 2), u64(8, 0), u64(9, 300), u64(10, 0));
    }

    @Test
    void serviceDumpWithStatsPrefers64BitCounters() {
        byte[] datagram = cat(
                genl(F, MULTI, 5, 1, nest(1,            // IPVS_CMD_NEW_SERVICE { IPVS_CMD_ATTR_SERVICE {
                        u16(1, 2), u16(2, 6), addr16(3, (byte) 10, (byte) 0, (byte) 0, (byte) 1), be16(4, 80),
                        str(6, "wrr"),
                        attr(7, cat(le(4, 0x3), le(4, 0xffffffffL))), // PERSISTENT | HASHED
                        u32(8, 300),
                        attr(9, new byte[] {(byte) 255, (byte) 255, (byte) 255, 0}), // /24
                        stats32(10, 0xffffffffL, 100, 6000),
                        stats64(12, 5_000_000_000L, 100, 6000))),
                genl(F, MULTI, 5, 1, nest(1,
                        u16(1, 10), u32(5, 42), str(6, "rr"),
                        attr(7, cat(le(4, 0x6), le(4, 0xffffffffL))), // HASHED | ONEPACKET
                        u32(8, 0), u32(9, 128),
                        stats32(10, 7, 8, 9))),                // an old kernel: 32-bit stats only
                done(5));

        List<NlMessage> messages = NlMessage.parseAll(ByteBuffer.wrap(datagram));
        assertThat(messages).extracting(NlMessage::type).containsExactly(F, F, 3);
        List<IpvsService> services = IpvsCodec.decodeServices(messages.subList(0, 2));

        IpvsService web = services.get(0);
        assertThat(web.describe()).isEqualTo("TCP 10.0.0.1:80");
        assertThat(web.scheduler()).isEqualTo("wrr");
        assertThat(web.persistent()).as("PERSISTENT flag").isTrue();
        assertThat(web.onePacket()).isFalse();
        assertThat(web.timeoutSeconds()).isEqualTo(300);
        assertThat(web.netmaskPrefix()).as("255.255.255.0 as a prefix").isEqualTo(24);
        assertThat(web.stats().connections()).as("64-bit counter wins over the 32-bit one").isEqualTo(5_000_000_000L);
        assertThat(web.stats().inPackets()).isEqualTo(100);
        assertThat(web.stats().inBytes()).isEqualTo(6000);
        assertThat(web.stats().connectionsPerSecond()).isEqualTo(1);
        assertThat(web.stats().inBytesPerSecond()).isEqualTo(300);

        IpvsService mark = services.get(1);
        assertThat(mark.describe()).isEqualTo("FWM 42 (IPv6)");
        assertThat(mark.isFwmark()).isTrue();
        assertThat(mark.family()).isEqualTo(IpvsFamily.INET6);
        assertThat(mark.persistent()).isFalse();
        assertThat(mark.onePacket()).isTrue();
        assertThat(mark.netmaskPrefix()).isEqualTo(128);
        assertThat(mark.stats().connections()).as("32-bit stats when no STATS64").isEqualTo(7);
        assertThat(mark.stats().inBytes()).isEqualTo(9);
    }

    @Test
    void decodedServiceEqualsTheOneCreated() {
        IpvsService created = IpvsService.tcp(addr("2001:db8::10"), 443).scheduler("mh").schedulerFlags(3).persistent(60).netmaskPrefix(64).build();
        byte[] reply = genl(F, 0, 1, 1, nest(1,
                u16(1, 10), u16(2, 6), attr(3, addr("2001:db8::10").getAddress()), be16(4, 443),
                str(6, "mh"), attr(7, cat(le(4, 0x1 | 0x2 | 0x8 | 0x10), le(4, 0xffffffffL))), u32(8, 60), u32(9, 64)));
        IpvsService decoded = IpvsCodec.decodeServices(NlMessage.parseAll(ByteBuffer.wrap(reply))).get(0);
        assertThat(decoded).isEqualTo(created);
    }

    @Test
    void destinationDumpWithConnectionsStatsAndIpv6() {
        byte[] datagram = cat(
                genl(F, MULTI, 9, 5, nest(2,             // IPVS_CMD_NEW_DEST { IPVS_CMD_ATTR_DEST {
                        addr16(1, (byte) 10, (byte) 0, (byte) 1, (byte) 11), be16(2, 8080),
                        u32(3, 3), u32(4, 3),                     // DROUTE, weight 3
                        u8(13, 0), be16(14, 0), u16(15, 0),       // tunnel attrs, unused for DR
                        u32(5, 100), u32(6, 10),                  // thresholds
                        u32(7, 12), u32(8, 34), u32(9, 5),        // active, inactive, persistent
                        u16(11, 2),
                        stats32(10, 46, 1000, 64000),
                        stats64(12, 46, 1000, 64000))),
                genl(F, MULTI, 9, 5, nest(2,
                        attr(1, addr("fd00::2").getAddress()), be16(2, 80),
                        u32(3, 2), u32(4, 0),                     // TUNNEL, weight 0 (quiesced)
                        u8(13, 1), be16(14, 6080), u16(15, 1),    // GUE on 6080 with checksum
                        u32(5, 0), u32(6, 0), u32(7, 0), u32(8, 0), u32(9, 0),
                        u16(11, 10))),
                genl(F, MULTI, 9, 5, nest(2,                      // pre-3.18 kernel: no ADDR_FAMILY
                        addr16(1, (byte) 10, (byte) 0, (byte) 1, (byte) 13), be16(2, 80),
                        u32(3, 0), u32(4, 1), u32(5, 0), u32(6, 0))),
                done(9));
        List<NlMessage> messages = NlMessage.parseAll(ByteBuffer.wrap(datagram));
        List<IpvsDestination> dests = IpvsCodec.decodeDestinations(messages, IpvsFamily.INET);

        assertThat(dests).hasSize(3);
        IpvsDestination dr = dests.get(0);
        assertThat(dr.describe()).isEqualTo("10.0.1.11:8080");
        assertThat(dr.forwarding()).isEqualTo(IpvsForwarding.ROUTE);
        assertThat(dr.weight()).isEqualTo(3);
        assertThat(dr.upperThreshold()).isEqualTo(100);
        assertThat(dr.lowerThreshold()).isEqualTo(10);
        assertThat(dr.activeConnections()).isEqualTo(12);
        assertThat(dr.inactiveConnections()).isEqualTo(34);
        assertThat(dr.persistentConnections()).isEqualTo(5);
        assertThat(dr.stats().connections()).isEqualTo(46);
        assertThat(dr.stats().inBytes()).isEqualTo(64000);

        IpvsDestination tun = dests.get(1);
        assertThat(tun.describe()).isEqualTo("[fd00:0:0:0:0:0:0:2]:80");
        assertThat(tun.forwarding()).isEqualTo(IpvsForwarding.TUNNEL);
        assertThat(tun.tunnelType()).isEqualTo(IpvsTunnelType.GUE);
        assertThat(tun.tunnelPort()).isEqualTo(6080);
        assertThat(tun.tunnelFlags()).isEqualTo(1);
        assertThat(tun.weight()).isZero();
        assertThat(tun.stats()).isEqualTo(IpvsStats.ZERO);

        assertThat(dests.get(2).forwarding()).as("family falls back to the service's").isEqualTo(IpvsForwarding.MASQ);
        assertThat(dests.get(2).address()).isEqualTo(addr("10.0.1.13"));
    }

    @Test
    void infoConfigAndDaemons() {
        IpvsInfo info = IpvsCodec.decodeInfo(NlMessage.parseAll(ByteBuffer.wrap(
                genl(F, 0, 1, 14, u32(1, 0x010201), u32(2, 4096)))));
        assertThat(info.version()).isEqualTo("1.2.1");
        assertThat(info.connectionTableSize()).isEqualTo(4096);

        IpvsTimeouts t = IpvsCodec.decodeTimeouts(NlMessage.parseAll(ByteBuffer.wrap(
                genl(F, 0, 2, 12, u32(4, 900), u32(5, 120), u32(6, 300)))));
        assertThat(t).isEqualTo(new IpvsTimeouts(900, 120, 300));

        byte[] daemons = cat(
                genl(F, MULTI, 3, 9, nest(3, u32(1, 1), str(2, "eth0"), u32(3, 7), u16(4, 1472),
                        u16(7, 8848), u8(8, 1), attr(5, new byte[] {(byte) 224, 0, 0, 81}))),
                genl(F, MULTI, 3, 9, nest(3, u32(1, 2), str(2, "eth1"), u32(3, 9))),
                done(3));
        List<IpvsDaemon> ds = IpvsCodec.decodeDaemons(NlMessage.parseAll(ByteBuffer.wrap(daemons)));
        assertThat(ds).hasSize(2);
        assertThat(ds.get(0).state()).isEqualTo(IpvsDaemon.State.MASTER);
        assertThat(ds.get(0).interfaceName()).isEqualTo("eth0");
        assertThat(ds.get(0).syncId()).isEqualTo(7);
        assertThat(ds.get(0).port()).isEqualTo(8848);
        assertThat(ds.get(0).group()).isEqualTo(addr("224.0.0.81"));
        assertThat(ds.get(1)).isEqualTo(IpvsDaemon.of(IpvsDaemon.State.BACKUP, "eth1", 9));
    }

    @Test
    void unknownAttributesFromNewerKernelsAreIgnored() {
        byte[] reply = genl(F, 0, 1, 1, nest(1,
                u16(1, 2), u16(2, 17), addr16(3, (byte) 10, (byte) 0, (byte) 0, (byte) 2), be16(4, 53),
                str(6, "rr"), attr(7, cat(le(4, 2), le(4, -1))), u32(8, 0), attr(9, new byte[] {-1, -1, -1, -1}),
                u64(99, 42)));                                // an attribute id this codec has never heard of
        IpvsService s = IpvsCodec.decodeServices(NlMessage.parseAll(ByteBuffer.wrap(reply))).get(0);
        assertThat(s.describe()).isEqualTo("UDP 10.0.0.2:53");
    }
}
