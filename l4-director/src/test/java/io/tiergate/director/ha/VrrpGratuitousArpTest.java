package io.tiergate.director.ha;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

class VrrpGratuitousArpTest {
    @Test
    void frameIsABroadcastArpRequestForTheVipFromTheVip() {
        byte[] mac = {0x02, 0x00, 0x5e, 0x10, 0x20, 0x30};
        byte[] frame = new byte[42];
        GratuitousArp.frame(frame, mac, (192 << 24) | (2 << 8) | 10); // 192.0.2.10
        int[] expected = {
                0xff, 0xff, 0xff, 0xff, 0xff, 0xff,   // Ethernet destination: broadcast
                0x02, 0x00, 0x5e, 0x10, 0x20, 0x30,   // Ethernet source: our MAC
                0x08, 0x06,                           // EtherType ARP
                0x00, 0x01,                           // hardware: Ethernet
                0x08, 0x00,                           // protocol: IPv4
                6, 4,                                 // address sizes
                0x00, 0x01,                           // opcode: request (what keepalived sends)
                0x02, 0x00, 0x5e, 0x10, 0x20, 0x30,   // sender MAC
                192, 0, 2, 10,                        // sender IP = VIP
                0xff, 0xff, 0xff, 0xff, 0xff, 0xff,   // target MAC
                192, 0, 2, 10};                       // target IP = VIP: gratuitous
        byte[] exp = new byte[expected.length];
        for (int i = 0; i < exp.length; i++) {
            exp[i] = (byte) expected[i];
        }
        assertThat(frame).containsExactly(exp);
    }
}
