package io.tiergate.director.netlink;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * Builds one netlink message: the 16-byte nlmsghdr, an optional 4-byte genlmsghdr, then attributes
 * (TLVs with 4-byte alignment, zero padding, nesting). Integers are in native byte order except the
 * {@code be16}/{@code be32} writers, which the kernel declares as __be16/__be32.
 */
public final class NlBuilder {
    private ByteBuffer buf;

    private NlBuilder(int type, int flags, int seq) {
        buf = ByteBuffer.allocate(256).order(ByteOrder.nativeOrder());
        buf.putInt(0); // nlmsg_len, patched by build()
        buf.putShort((short) type);
        buf.putShort((short) flags);
        buf.putInt(seq);
        buf.putInt(0); // nlmsg_pid: 0 = addressed to the kernel
    }

    public static NlBuilder message(int type, int flags, int seq) {
        return new NlBuilder(type, flags, seq);
    }

    /** A generic-netlink message: nlmsghdr + genlmsghdr {cmd, version, reserved}. */
    public static NlBuilder genl(int familyId, int flags, int seq, int cmd, int version) {
        NlBuilder b = new NlBuilder(familyId, flags, seq);
        b.ensure(4);
        b.buf.put((byte) cmd).put((byte) version).putShort((short) 0);
        return b;
    }

    public NlBuilder u8(int type, int v) {
        return attr(type, 1).put((byte) v).pad();
    }

    public NlBuilder u16(int type, int v) {
        return attr(type, 2).putShort((short) v).pad();
    }

    public NlBuilder u32(int type, int v) {
        return attr(type, 4).putInt(v).pad();
    }

    public NlBuilder u64(int type, long v) {
        return attr(type, 8).putLong(v).pad();
    }

    public NlBuilder be16(int type, int v) {
        return attr(type, 2).put((byte) (v >>> 8)).put((byte) v).pad();
    }

    public NlBuilder bytes(int type, byte[] v) {
        return attr(type, v.length).put(v).pad();
    }

    /** A NUL-terminated string, as nla_put_string writes it. */
    public NlBuilder string(int type, String v) {
        byte[] s = v.getBytes(StandardCharsets.UTF_8);
        return attr(type, s.length + 1).put(s).put((byte) 0).pad();
    }

    /** Opens a nested attribute; pass the returned mark to {@link #end(int)}. */
    public int begin(int type) {
        ensure(4);
        int mark = buf.position();
        buf.putShort((short) 0).putShort((short) (type | Netlink.NLA_F_NESTED));
        return mark;
    }

    public NlBuilder end(int mark) {
        buf.putShort(mark, (short) (buf.position() - mark));
        return this;
    }

    public byte[] build() {
        buf.putInt(0, buf.position());
        return Arrays.copyOf(buf.array(), buf.position());
    }

    private Writer attr(int type, int len) {
        ensure(Netlink.NLA_HDRLEN + Netlink.align(len));
        buf.putShort((short) (Netlink.NLA_HDRLEN + len)).putShort((short) type);
        return new Writer(len);
    }

    private void ensure(int n) {
        if (buf.remaining() < n) {
            ByteBuffer bigger = ByteBuffer.allocate(Math.max(buf.capacity() * 2, buf.position() + n))
                    .order(ByteOrder.nativeOrder());
            buf.flip();
            bigger.put(buf);
            buf = bigger;
        }
    }

    /** Writes one attribute's value, then pads it to the 4-byte boundary with zeros. */
    private final class Writer {
        private final int len;

        Writer(int len) {
            this.len = len;
        }

        Writer put(byte v) { buf.put(v); return this; }
        Writer put(byte[] v) { buf.put(v); return this; }
        Writer putShort(short v) { buf.putShort(v); return this; }
        Writer putInt(int v) { buf.putInt(v); return this; }
        Writer putLong(long v) { buf.putLong(v); return this; }

        NlBuilder pad() {
            for (int i = len; i < Netlink.align(len); i++) {
                buf.put((byte) 0);
            }
            return NlBuilder.this;
        }
    }
}
