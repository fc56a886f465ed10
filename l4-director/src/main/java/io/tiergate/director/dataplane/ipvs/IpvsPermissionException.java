package io.tiergate.director.dataplane.ipvs;

/** The caller lacks CAP_NET_ADMIN (EPERM). */
public final class IpvsPermissionException extends IpvsException {
    private static final long serialVersionUID = 1L;

    public IpvsPermissionException(String message, int errno) {
        super(message, errno);
    }
}
