package io.tiergate.director.dataplane.ipvs;

/** The service, destination or sync daemon named doesn't exist (ESRCH/ENOENT). */
public final class IpvsNotFoundException extends IpvsException {
    private static final long serialVersionUID = 1L;

    public IpvsNotFoundException(String message, int errno) {
        super(message, errno);
    }
}
