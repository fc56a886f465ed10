package io.tiergate.director.dataplane.ipvs;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * Hand-assembles expected netlink bytes for golden tests, field by field, little-endian (x86-64
 * native order) except where a test says be16. Deliberately independent of NlBuilder: lengths are
 * written by the test author, not computed.
 */
final class Wire {
    private final ByteArrayOutputStream out = new ByteArrayOutputStream();

    static Wire bytes() {
        return new Wire();
    }

    /** struct nlmsghdr { u32 len; u16 type; u16 flags; u32 seq; u32 pid; } */
    Wire nlmsghdr(int len, int type, int flags, int seq) {
        return u32(len).u16(type).u16(flags).u32(seq).u32(0);
    }

    /** struct genlmsghdr { u8 cmd; u8 version; u16 reserved; } */
    Wire genlmsghdr(int cmd, int version) {
        return u8(cmd).u8(version).u16(0);
    }

    /** struct nlattr { u16 nla_len; u16 nla_type; } */
    Wire nla(int len, int type) {
        return u16(len).u16(type);
    }

    /** A nested attribute header: NLA_F_NESTED (0x8000) set in the type. */
    Wire nest(int len, int type) {
        return u16(len).u16(type | 0x8000);
    }

    Wire u8(int v) {
        out.write(v);
        return this;
    }

    Wire u16(int v) {
        return raw(ByteBuffer.allocate(2).order(ByteOrder.LITTLE_ENDIAN).putShort((short) v).array());
    }

    Wire be16(int v) {
        return u8(v >>> 8).u8(v & 0xff);
    }

    Wire u32(int v) {
        return raw(ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(v).array());
    }

    Wire u64(long v) {
        return raw(ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(v).array());
    }

    Wire raw(int... bytes) {
        for (int b : bytes) {
            out.write(b);
        }
        return this;
    }

    Wire raw(byte[] bytes) {
        out.write(bytes, 0, bytes.length);
        return this;
    }

    Wire ascii(String s) {
        return raw(s.getBytes(java.nio.charset.StandardCharsets.US_ASCII));
    }

    Wire zeros(int n) {
        return raw(new byte[n]);
    }

    byte[] build() {
        return out.toByteArray();
    }
}
