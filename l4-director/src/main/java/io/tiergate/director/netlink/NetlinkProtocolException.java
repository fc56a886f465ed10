package io.tiergate.director.netlink;

/** The kernel sent something this codec can't parse: a bug on one side, never a user error. */
public final class NetlinkProtocolException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public NetlinkProtocolException(String message) {
        super(message);
    }
}
