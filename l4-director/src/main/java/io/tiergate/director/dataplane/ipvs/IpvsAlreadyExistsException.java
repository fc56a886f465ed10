package io.tiergate.director.dataplane.ipvs;

/** The service, destination or sync daemon to create is already there (EEXIST). */
public final class IpvsAlreadyExistsException extends IpvsException {
    private static final long serialVersionUID = 1L;

    public IpvsAlreadyExistsException(String message, int errno) {
        super(message, errno);
    }
}
