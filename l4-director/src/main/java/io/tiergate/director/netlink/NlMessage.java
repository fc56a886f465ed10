package io.tiergate.director.netlink;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;

/** One received netlink message: header fields and the payload after the 16-byte header. */
public record NlMessage(int type, int flags, int seq, int pid, ByteBuffer payload) {

    /** Splits a datagram into its messages. */
    public static List<NlMessage> parseAll(ByteBuffer datagram) {
        ByteBuffer b = datagram.slice().order(ByteOrder.nativeOrder());
        List<NlMessage> out = new ArrayList<>();
        while (b.remaining() >= Netlink.NLMSG_HDRLEN) {
            int start = b.position();
            int len = b.getInt(start);
            if (len < Netlink.NLMSG_HDRLEN || start + len > b.limit()) {
                throw new NetlinkProtocolException("malformed message length " + len + " at offset " + start + " of " + b.limit());
            }
            int type = Short.toUnsignedInt(b.getShort(start + 4));
            int flags = Short.toUnsignedInt(b.getShort(start + 6));
            int seq = b.getInt(start + 8);
            int pid = b.getInt(start + 12);
            ByteBuffer payload = b.duplicate().position(start + Netlink.NLMSG_HDRLEN).limit(start + len).slice()
                    .order(ByteOrder.nativeOrder());
            out.add(new NlMessage(type, flags, seq, pid, payload));
            b.position(Math.min(b.limit(), start + Netlink.align(len)));
        }
        return out;
    }

    /** For generic netlink messages: the command byte of the genlmsghdr. */
    public int genlCmd() {
        return Byte.toUnsignedInt(payload.get(0));
    }

    /** For generic netlink messages: the attributes after the genlmsghdr. */
    public NlAttrs genlAttrs() {
        return NlAttrs.parse(payload.duplicate().position(Netlink.GENL_HDRLEN));
    }

    /** For NLMSG_ERROR: the (negative) errno, 0 for an ACK. */
    public int error() {
        return payload.getInt(0);
    }

    /** For NLMSG_ERROR with extended ack: the kernel's message, or null. */
    public String extAckMessage() {
        if ((flags & Netlink.NLM_F_ACK_TLVS) == 0 || payload.remaining() < 4 + Netlink.NLMSG_HDRLEN) {
            return null;
        }
        int echoed = (flags & Netlink.NLM_F_CAPPED) != 0 ? Netlink.NLMSG_HDRLEN : payload.getInt(4);
        int at = 4 + Netlink.align(echoed);
        if (at >= payload.limit()) {
            return null;
        }
        NlAttrs tlvs = NlAttrs.parse(payload.duplicate().position(at));
        return tlvs.has(Netlink.NLMSGERR_ATTR_MSG) ? tlvs.string(Netlink.NLMSGERR_ATTR_MSG) : null;
    }
}
