package io.tiergate.director.dataplane.ipvs;

/** The kernel has no IPVS generic-netlink family (ip_vs not built or not loaded). */
public final class IpvsUnavailableException extends IpvsException {
    private static final long serialVersionUID = 1L;

    public IpvsUnavailableException(String message, int errno) {
        super(message, errno);
    }
}
