package io.tiergate.director.netlink;

/** Numbers from the kernel's uapi headers (linux/netlink.h, linux/genetlink.h) that the codec and socket need. */
public final class Netlink {
    public static final int AF_NETLINK = 16;
    public static final int NETLINK_GENERIC = 16;

    public static final int NLMSG_HDRLEN = 16;
    public static final int GENL_HDRLEN = 4;
    public static final int NLA_HDRLEN = 4;

    public static final int NLMSG_NOOP = 1;
    public static final int NLMSG_ERROR = 2;
    public static final int NLMSG_DONE = 3;
    public static final int NLMSG_OVERRUN = 4;

    public static final int NLM_F_REQUEST = 0x01;
    public static final int NLM_F_MULTI = 0x02;
    public static final int NLM_F_ACK = 0x04;
    public static final int NLM_F_DUMP_INTR = 0x10;
    public static final int NLM_F_ROOT = 0x100;
    public static final int NLM_F_MATCH = 0x200;
    public static final int NLM_F_DUMP = NLM_F_ROOT | NLM_F_MATCH;
    /** On an NLMSG_ERROR: extended-ack attributes follow the echoed request. */
    public static final int NLM_F_ACK_TLVS = 0x200;
    /** On an NLMSG_ERROR: the echoed request was cut to its header. */
    public static final int NLM_F_CAPPED = 0x100;

    public static final int NLMSGERR_ATTR_MSG = 1;

    public static final int NLA_F_NESTED = 0x8000;
    public static final int NLA_F_NET_BYTEORDER = 0x4000;
    public static final int NLA_TYPE_MASK = ~(NLA_F_NESTED | NLA_F_NET_BYTEORDER) & 0xffff;

    /** Generic netlink controller ("nlctrl"). */
    public static final int GENL_ID_CTRL = 0x10;
    public static final int CTRL_CMD_GETFAMILY = 3;
    public static final int CTRL_ATTR_FAMILY_ID = 1;
    public static final int CTRL_ATTR_FAMILY_NAME = 2;
    public static final int CTRL_ATTR_VERSION = 3;

    public static final int SOL_NETLINK = 270;
    public static final int NETLINK_CAP_ACK = 10;
    public static final int NETLINK_EXT_ACK = 11;

    private Netlink() {}

    /** Rounds up to the 4-byte boundary that both messages and attributes are aligned to. */
    public static int align(int len) {
        return (len + 3) & ~3;
    }
}
