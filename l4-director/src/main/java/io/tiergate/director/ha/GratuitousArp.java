package io.tiergate.director.ha;

import io.tiergate.director.ha.internal.LibC;
import jnr.ffi.Memory;
import jnr.ffi.Pointer;

/**
 * Sends gratuitous ARP requests (sender = target = the VIP, broadcast) from an AF_PACKET socket so every host on
 * the segment points the VIP at our MAC at once instead of waiting for its neighbour entry to go stale.
 */
final class GratuitousArp implements VipAnnouncer {
    private static final int ETH_P_ARP = 0x0806;
    private static final int FRAME = 42;
    private final LibC c = LibC.get();
    private final int fd;
    private final byte[] mac;
    private final Pointer frame = Memory.allocateDirect(LibC.runtime(), FRAME);
    private final Pointer addr = Memory.allocateDirect(LibC.runtime(), 20);
    private final byte[] buf = new byte[FRAME];

    GratuitousArp(int ifindex, byte[] mac) {
        if (mac == null || mac.length != 6) {
            throw new VrrpException("the VRRP interface has no Ethernet address: gratuitous ARP impossible");
        }
        this.mac = mac.clone();
        int proto = Short.toUnsignedInt(Short.reverseBytes((short) ETH_P_ARP)); // htons on little-endian hosts
        if (java.nio.ByteOrder.nativeOrder() == java.nio.ByteOrder.BIG_ENDIAN) {
            proto = ETH_P_ARP;
        }
        fd = c.socket(LibC.AF_PACKET, LibC.SOCK_RAW | LibC.SOCK_CLOEXEC, proto);
        if (fd < 0) {
            throw new VrrpException("socket(AF_PACKET) for gratuitous ARP failed: " + LibC.lastError());
        }
        // sockaddr_ll { family, protocol (be16), ifindex, hatype, pkttype, halen, addr[8] }
        addr.putShort(0, (short) LibC.AF_PACKET);
        addr.putByte(2, (byte) (ETH_P_ARP >>> 8));
        addr.putByte(3, (byte) ETH_P_ARP);
        addr.putInt(4, ifindex);
        addr.putShort(8, (short) 1);
        addr.putByte(10, (byte) 0);
        addr.putByte(11, (byte) 6);
        for (int i = 0; i < 8; i++) {
            addr.putByte(12 + i, i < 6 ? (byte) 0xFF : 0);
        }
    }

    /** Builds the 42-byte frame: Ethernet broadcast, ARP request, sender/target = {@code vip}. */
    static void frame(byte[] b, byte[] mac, int vip) {
        for (int i = 0; i < 6; i++) {
            b[i] = (byte) 0xFF;          // destination: broadcast
            b[6 + i] = mac[i];           // source: our MAC
        }
        b[12] = 0x08;
        b[13] = 0x06;                    // EtherType ARP
        b[14] = 0;
        b[15] = 1;                       // hardware type Ethernet
        b[16] = 0x08;
        b[17] = 0x00;                    // protocol type IPv4
        b[18] = 6;                       // hardware size
        b[19] = 4;                       // protocol size
        b[20] = 0;
        b[21] = 1;                       // opcode request
        System.arraycopy(mac, 0, b, 22, 6);
        VrrpPacket.putInt(b, 28, vip);   // sender IP = VIP
        for (int i = 0; i < 6; i++) {
            b[32 + i] = (byte) 0xFF;     // target MAC: broadcast, as keepalived sends it
        }
        VrrpPacket.putInt(b, 38, vip);   // target IP = VIP
    }

    @Override
    public synchronized void announce(byte[] addrs, int off) {
        frame(buf, mac, VrrpPacket.getInt(addrs, off));
        frame.put(0, buf, 0, FRAME);
        c.sendto(fd, frame, FRAME, 0, addr, 20);
    }

    @Override
    public void close() {
        c.close(fd);
    }
}
