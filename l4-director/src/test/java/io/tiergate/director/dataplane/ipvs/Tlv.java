package io.tiergate.director.dataplane.ipvs;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/** Builds kernel-style replies for decode tests: attributes with computed lengths and padding (little-endian). */
final class Tlv {
    private Tlv() {}

    static byte[] attr(int type, byte[] value) {
        int len = 4 + value.length;
        ByteBuffer b = ByteBuffer.allocate((len + 3) & ~3).order(ByteOrder.LITTLE_ENDIAN);
        b.putShort((short) len).putShort((short) type).put(value);
        return b.array();
    }

    /** The kernel nests without NLA_F_NESTED (nla_nest_start_noflag). */
    static byte[] nest(int type, byte[]... children) {
        return attr(type, cat(children));
    }

    static byte[] u8(int type, int v) { return attr(type, new byte[] {(byte) v}); }
    static byte[] u16(int type, int v) { return attr(type, le(2, v)); }
    static byte[] u32(int type, long v) { return attr(type, le(4, v)); }
    static byte[] u64(int type, long v) { return attr(type, le(8, v)); }
    static byte[] be16(int type, int v) { return attr(type, new byte[] {(byte) (v >>> 8), (byte) v}); }
    static byte[] str(int type, String s) { return attr(type, (s + "\0").getBytes(java.nio.charset.StandardCharsets.US_ASCII)); }

    static byte[] addr16(int type, byte... first) {
        return attr(type, java.util.Arrays.copyOf(first, 16));
    }

    /** One generic-netlink message: nlmsghdr + genlmsghdr + attributes. */
    static byte[] genl(int type, int flags, int seq, int cmd, byte[]... attrs) {
        byte[] body = cat(attrs);
        ByteBuffer b = ByteBuffer.allocate(20 + body.length).order(ByteOrder.LITTLE_ENDIAN);
        b.putInt(20 + body.length).putShort((short) type).putShort((short) flags).putInt(seq).putInt(1234);
        b.put((byte) cmd).put((byte) 1).putShort((short) 0).put(body);
        return b.array();
    }

    /** NLMSG_DONE closing a dump: a 4-byte payload (the dump's return code, 0). */
    static byte[] done(int seq) {
        return ByteBuffer.allocate(20).order(ByteOrder.LITTLE_ENDIAN)
                .putInt(20).putShort((short) 3).putShort((short) 2).putInt(seq).putInt(1234).putInt(0).array();
    }

    static byte[] le(int n, long v) {
        byte[] out = new byte[n];
        for (int i = 0; i < n; i++) {
            out[i] = (byte) (v >>> (8 * i));
        }
        return out;
    }

    static byte[] cat(byte[]... parts) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (byte[] p : parts) {
            out.write(p, 0, p.length);
        }
        return out.toByteArray();
    }
}
