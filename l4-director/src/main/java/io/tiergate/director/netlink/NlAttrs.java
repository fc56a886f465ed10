package io.tiergate.director.netlink;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Map;
import java.util.Set;

/**
 * A parsed attribute list: type (flags masked off) to value. Unknown types are kept and simply
 * never asked for, so newer kernels that add attributes don't break decoding. The last of repeated
 * types wins.
 */
public final class NlAttrs {
    private final Map<Integer, ByteBuffer> values;

    private NlAttrs(Map<Integer, ByteBuffer> values) {
        this.values = values;
    }

    /** Parses attributes from the buffer's position to its limit. */
    public static NlAttrs parse(ByteBuffer in) {
        ByteBuffer b = in.slice().order(ByteOrder.nativeOrder());
        Map<Integer, ByteBuffer> values = new HashMap<>();
        while (b.remaining() >= Netlink.NLA_HDRLEN) {
            int start = b.position();
            int len = Short.toUnsignedInt(b.getShort(start));
            int type = Short.toUnsignedInt(b.getShort(start + 2)) & Netlink.NLA_TYPE_MASK;
            if (len < Netlink.NLA_HDRLEN || start + len > b.limit()) {
                throw new NetlinkProtocolException("malformed attribute type " + type + " length " + len
                        + " at offset " + start + " of " + b.limit());
            }
            values.put(type, b.duplicate().position(start + Netlink.NLA_HDRLEN).limit(start + len).slice()
                    .order(ByteOrder.nativeOrder()));
            b.position(Math.min(b.limit(), start + Netlink.align(len)));
        }
        return new NlAttrs(values);
    }

    public boolean has(int type) {
        return values.containsKey(type);
    }

    public Set<Integer> types() {
        return values.keySet();
    }

    public int u8(int type) {
        return Byte.toUnsignedInt(need(type, 1).get(0));
    }

    public int u16(int type) {
        return Short.toUnsignedInt(need(type, 2).getShort(0));
    }

    public int u32(int type) {
        return need(type, 4).getInt(0);
    }

    public long u64(int type) {
        return need(type, 8).getLong(0);
    }

    /** A u32 or a u64, whichever the kernel sent (32-bit and 64-bit stats share attribute ids). */
    public long unsigned(int type) {
        ByteBuffer v = need(type, 4);
        return v.remaining() >= 8 ? v.getLong(0) : Integer.toUnsignedLong(v.getInt(0));
    }

    public int be16(int type) {
        ByteBuffer v = need(type, 2);
        return (Byte.toUnsignedInt(v.get(0)) << 8) | Byte.toUnsignedInt(v.get(1));
    }

    public int u32or(int type, int fallback) {
        return has(type) ? u32(type) : fallback;
    }

    public byte[] bytes(int type) {
        ByteBuffer v = need(type, 0).duplicate();
        byte[] out = new byte[v.remaining()];
        v.get(out);
        return out;
    }

    /** A string up to its first NUL. */
    public String string(int type) {
        byte[] b = bytes(type);
        int n = 0;
        while (n < b.length && b[n] != 0) {
            n++;
        }
        return new String(b, 0, n, StandardCharsets.UTF_8);
    }

    public NlAttrs nested(int type) {
        return parse(need(type, 0));
    }

    private ByteBuffer need(int type, int min) {
        ByteBuffer v = values.get(type);
        if (v == null) {
            throw new NetlinkProtocolException("attribute " + type + " missing");
        }
        if (v.remaining() < min) {
            throw new NetlinkProtocolException("attribute " + type + " has " + v.remaining() + " bytes (expected: >= " + min + ")");
        }
        return v;
    }
}
