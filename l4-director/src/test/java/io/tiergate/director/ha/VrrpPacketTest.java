package io.tiergate.director.ha;

import org.junit.jupiter.api.Test;

import java.net.Inet4Address;
import java.net.InetAddress;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class VrrpPacketTest {
    private static Inet4Address ip(String s) throws Exception {
        return (Inet4Address) InetAddress.getByName(s);
    }

    private static byte[] bytes(int... v) {
        byte[] b = new byte[v.length];
        for (int i = 0; i < v.length; i++) {
            b[i] = (byte) v[i];
        }
        return b;
    }

    @Test
    void encodesTheRfc5798LayoutWithAPseudoHeaderChecksum() throws Exception {
        VrrpPacket p = new VrrpPacket(7, 200, 5, List.of(ip("192.0.2.10"), ip("192.0.2.11")));
        byte[] wire = p.encode(ip("192.0.2.1"), ip("224.0.0.18"));

        // Checksum by hand, 16-bit words, RFC 1071:
        // pseudo-header: c000 + 0201 (src) + e000 + 0012 (dst) + 0070 (0, proto 112) + 0010 (length 16)
        // message:       3107 + c802 + 0005 + 0000 (checksum 0) + c000 + 020a + c000 + 020b
        long sum = 0xc000L + 0x0201 + 0xe000 + 0x0012 + 0x0070 + 0x0010
                + 0x3107 + 0xc802 + 0x0005 + 0xc000 + 0x020a + 0xc000 + 0x020b;
        while (sum > 0xFFFF) {
            sum = (sum & 0xFFFF) + (sum >>> 16);
        }
        int ck = (int) (~sum & 0xFFFF);
        assertThat(wire).as("VRRPv3 advert bytes").containsExactly(bytes(
                0x31,             // version 3, type 1 (ADVERTISEMENT)
                0x07,             // VRID 7
                0xc8,             // priority 200
                0x02,             // count IPvX addr
                0x00, 0x05,       // rsvd(4 bits) 0, max adver int 5 centiseconds = 50 ms
                ck >>> 8, ck & 0xFF, // checksum over pseudo-header + message
                192, 0, 2, 10,    // address 1
                192, 0, 2, 11));  // address 2
    }

    @Test
    void maxAdverIntUsesTwelveBitsAndLeavesTheReservedNibbleZero() throws Exception {
        byte[] wire = new VrrpPacket(1, 100, 4095, List.of()).encode(ip("10.0.0.1"), ip("224.0.0.18"));
        assertThat(wire[4]).as("reserved nibble 0, interval high nibble F").isEqualTo((byte) 0x0F);
        assertThat(wire[5]).isEqualTo((byte) 0xFF);
        assertThatThrownBy(() -> new VrrpPacket(1, 100, 4096, List.of()))
                .hasMessage("maxAdverIntCs: 4096 (expected: 1..4095)");
    }

    @Test
    void checksumDependsOnTheDestinationSoUnicastCopiesDiffer() throws Exception {
        VrrpPacket p = new VrrpPacket(7, 100, 100, List.of(ip("10.0.0.100")));
        byte[] toGroup = p.encode(ip("10.0.0.1"), ip("224.0.0.18"));
        byte[] toPeer = p.encode(ip("10.0.0.1"), ip("10.0.0.2"));
        assertThat(toGroup[6] == toPeer[6] && toGroup[7] == toPeer[7]).as("checksums differ").isFalse();
        assertThat(VrrpPacket.decode(toPeer, ip("10.0.0.1"), ip("10.0.0.2"))).isEqualTo(p);
        assertThatThrownBy(() -> VrrpPacket.decode(toPeer, ip("10.0.0.1"), ip("224.0.0.18")))
                .hasMessageContaining("BAD_CHECKSUM");
    }

    /** Captured with tcpdump from Debian's keepalived 2.2.7, vrrp_version 3, advert_int 0.1, VRID 51, prio 100. */
    private static final byte[] KEEPALIVED_ADVERT = bytes(
            0x45, 0xc0, 0x00, 0x20, 0x00, 0x01, 0x00, 0x00, 0xff, 0x70, 0xd0, 0x4c, // IPv4, TTL 255, proto 112
            0x0a, 0x4d, 0x00, 0x01, 0xe0, 0x00, 0x00, 0x12,                         // 10.77.0.1 -> 224.0.0.18
            0x31, 0x33, 0x64, 0x01, 0x00, 0x0a, 0x75, 0x33, 0x0a, 0x4d, 0x00, 0x64); // VRRP
    /** The same keepalived stopping: priority 0. */
    private static final byte[] KEEPALIVED_SHUTDOWN = bytes(
            0x45, 0xc0, 0x00, 0x20, 0x00, 0x1b, 0x00, 0x00, 0xff, 0x70, 0xd0, 0x32,
            0x0a, 0x4d, 0x00, 0x01, 0xe0, 0x00, 0x00, 0x12,
            0x31, 0x33, 0x00, 0x01, 0x00, 0x0a, 0xd9, 0x33, 0x0a, 0x4d, 0x00, 0x64);

    @Test
    void decodesAnAdvertCapturedFromKeepalived() throws Exception {
        VrrpPacket.View v = new VrrpPacket.View();
        assertThat(VrrpPacket.parseIpv4(KEEPALIVED_ADVERT, 0, KEEPALIVED_ADVERT.length, v)).isEqualTo(VrrpPacket.Verdict.OK);
        assertThat(VrrpPacket.format(v.src)).isEqualTo("10.77.0.1");
        assertThat(v.dst).isEqualTo(VrrpPacket.MULTICAST_GROUP);
        assertThat(v.ttl).isEqualTo(255);
        assertThat(v.vrid).isEqualTo(51);
        assertThat(v.priority).isEqualTo(100);
        assertThat(v.maxAdverIntCs).isEqualTo(10);
        assertThat(v.count).isEqualTo(1);
        assertThat(VrrpPacket.format(v.address(KEEPALIVED_ADVERT, 0))).isEqualTo("10.77.0.100");

        assertThat(VrrpPacket.parseIpv4(KEEPALIVED_SHUTDOWN, 0, KEEPALIVED_SHUTDOWN.length, v)).isEqualTo(VrrpPacket.Verdict.OK);
        assertThat(v.priority).as("keepalived's shutdown advert").isZero();
    }

    @Test
    void ourEncodingOfTheSameAdvertIsByteIdenticalToKeepalived() throws Exception {
        byte[] ours = new VrrpPacket(51, 100, 10, List.of(ip("10.77.0.100"))).encode(ip("10.77.0.1"), ip("224.0.0.18"));
        byte[] theirs = java.util.Arrays.copyOfRange(KEEPALIVED_ADVERT, 20, 32);
        assertThat(ours).containsExactly(theirs);
    }

    @Test
    void receiveValidationRejectsWrongTtlVersionTypeAndChecksum() {
        VrrpPacket.View v = new VrrpPacket.View();
        byte[] ttl = KEEPALIVED_ADVERT.clone();
        ttl[8] = (byte) 254; // one hop away: must be rejected (§7.1)
        assertThat(VrrpPacket.parseIpv4(ttl, 0, ttl.length, v)).isEqualTo(VrrpPacket.Verdict.BAD_TTL);

        byte[] v2 = KEEPALIVED_ADVERT.clone();
        v2[20] = 0x21;
        assertThat(VrrpPacket.parseIpv4(v2, 0, v2.length, v)).isEqualTo(VrrpPacket.Verdict.BAD_VERSION);

        byte[] type = KEEPALIVED_ADVERT.clone();
        type[20] = 0x32;
        assertThat(VrrpPacket.parseIpv4(type, 0, type.length, v)).isEqualTo(VrrpPacket.Verdict.BAD_TYPE);

        byte[] corrupt = KEEPALIVED_ADVERT.clone();
        corrupt[22] = 0x65; // priority 101 without fixing the checksum
        assertThat(VrrpPacket.parseIpv4(corrupt, 0, corrupt.length, v)).isEqualTo(VrrpPacket.Verdict.BAD_CHECKSUM);

        byte[] truncated = java.util.Arrays.copyOf(KEEPALIVED_ADVERT, 30); // count says 1 address, 2 bytes missing
        truncated[3] = 30;
        assertThat(VrrpPacket.parseIpv4(truncated, 0, truncated.length, v)).isEqualTo(VrrpPacket.Verdict.BAD_LENGTH);

        byte[] tcp = KEEPALIVED_ADVERT.clone();
        tcp[9] = 6;
        assertThat(VrrpPacket.parseIpv4(tcp, 0, tcp.length, v)).isEqualTo(VrrpPacket.Verdict.NOT_VRRP);
    }

    @Test
    void aVrrpv2AdvertIsRefusedAsBadVersionButItsFieldsCanBeRead() {
        // keepalived's "vrrp_version 2" advert as tcpdump showed it: vrid 42, prio 100, authtype simple, intvl 1s,
        // 10.77.0.100, auth "s3cret". The v2 checksum covers the message only (RFC 3768 §5.3.8).
        int[] msg = {0x21, 42, 100, 1, 1, 1, 0, 0, 10, 77, 0, 100, 's', '3', 'c', 'r', 'e', 't', 0, 0};
        long sum = 0;
        for (int i = 0; i < msg.length; i += 2) {
            sum += (msg[i] << 8) | msg[i + 1];
        }
        while (sum > 0xFFFF) {
            sum = (sum & 0xFFFF) + (sum >>> 16);
        }
        msg[6] = (int) (~sum >>> 8) & 0xFF;
        msg[7] = (int) ~sum & 0xFF;
        byte[] wire = bytes(msg);
        VrrpPacket.View view = new VrrpPacket.View();
        assertThat(VrrpPacket.parseVrrp(wire, 0, wire.length, view)).isEqualTo(VrrpPacket.Verdict.BAD_VERSION);
        assertThat(view.version).isEqualTo(2);

        assertThat(VrrpPacket.parseV2(wire, view)).isEqualTo(VrrpPacket.Verdict.OK);
        assertThat(view.vrid).isEqualTo(42);
        assertThat(view.priority).isEqualTo(100);
        assertThat(view.authType).isEqualTo(1);
        assertThat(view.maxAdverIntCs).as("1 s in centiseconds").isEqualTo(100);
        assertThat(VrrpPacket.format(view.address(wire, 0))).isEqualTo("10.77.0.100");

        wire[13] ^= 1;
        VrrpPacket.parseVrrp(wire, 0, wire.length, view);
        assertThat(VrrpPacket.parseV2(wire, view)).isEqualTo(VrrpPacket.Verdict.BAD_CHECKSUM);
        VrrpPacket.parseVrrp(wire, 0, 14, view);
        assertThat(VrrpPacket.parseV2(wire, view)).as("cut inside the auth data").isEqualTo(VrrpPacket.Verdict.BAD_LENGTH);
        assertThat(view.count).as("no address is read from a short packet").isZero();
    }

    /**
     * An advert keepalived 2.2.7 sent (vrrp_version 3, native_ipv6, vrid 42, priority 200, advert_int 1,
     * virtual_ipaddress fd88::100/64) from its link-local address, as tcpdump showed it: our encoder must produce
     * the same bytes (checksum 0x0abf over the IPv6 pseudo-header) and our parser must accept them.
     */
    @Test
    void ipv6AdvertMatchesKeepalivedByteForByte() throws Exception {
        byte[] keepalived = bytes(0x31, 0x2a, 0xc8, 0x01, 0x00, 0x64, 0x0a, 0xbf,
                0xfd, 0x88, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01, 0x00);
        InetAddress src = InetAddress.getByName("fe80::ff:fe00:a");
        InetAddress dst = InetAddress.getByName("ff02::12");
        VrrpPacket p = new VrrpPacket(42, 200, 100, List.of(InetAddress.getByName("fd88::100")));
        assertThat(p.encode(src, dst)).containsExactly(keepalived);
        assertThat(VrrpPacket.decode(keepalived, src, dst)).isEqualTo(p);

        VrrpPacket.View view = new VrrpPacket.View();
        System.arraycopy(src.getAddress(), 0, view.src6, 0, 16);
        System.arraycopy(dst.getAddress(), 0, view.dst6, 0, 16);
        assertThat(VrrpPacket.parseIpv6(keepalived, 0, keepalived.length, 255, view)).isEqualTo(VrrpPacket.Verdict.OK);
        assertThat(view.count).isEqualTo(1);
        assertThat(VrrpPacket.parseIpv6(keepalived, 0, keepalived.length, 254, view))
                .as("a hop limit below 255 means it crossed a router").isEqualTo(VrrpPacket.Verdict.BAD_TTL);

        // The same message to another destination (a unicast peer) needs another checksum.
        System.arraycopy(InetAddress.getByName("fe80::ff:fe00:b").getAddress(), 0, view.dst6, 0, 16);
        assertThat(VrrpPacket.parseIpv6(keepalived, 0, keepalived.length, 255, view))
                .isEqualTo(VrrpPacket.Verdict.BAD_CHECKSUM);
        byte[] corrupted = keepalived.clone();
        corrupted[23] ^= 1; // another VIP, same checksum
        System.arraycopy(dst.getAddress(), 0, view.dst6, 0, 16);
        assertThat(VrrpPacket.parseIpv6(corrupted, 0, corrupted.length, 255, view))
                .isEqualTo(VrrpPacket.Verdict.BAD_CHECKSUM);
        // 16-byte addresses: a count of 2 needs 40 bytes.
        byte[] shortOne = keepalived.clone();
        shortOne[3] = 2;
        assertThat(VrrpPacket.parseIpv6(shortOne, 0, shortOne.length, 255, view)).isEqualTo(VrrpPacket.Verdict.BAD_LENGTH);
        assertThat(view.count).as("no address may be read from a short message").isZero();
    }

    @Test
    void anAdvertIsOneFamily() throws Exception {
        assertThatThrownBy(() -> new VrrpPacket(1, 100, 100, List.of(InetAddress.getByName("10.0.0.1"),
                InetAddress.getByName("fd88::1")))).hasMessageContaining("mixed");
    }
}
