package io.tiergate.director.dataplane.ipvs;

/**
 * The kernel refused an IPVS operation. The message says what, and where the user can fix it, how;
 * subclasses name the cases a caller may want to handle (already exists, not found, ...).
 */
public class IpvsException extends RuntimeException {
    private static final long serialVersionUID = 1L;
    private final int errno;

    public IpvsException(String message, int errno) {
        super(message);
        this.errno = errno;
    }

    /** The kernel's errno, 0 when the failure wasn't an errno. */
    public int errno() {
        return errno;
    }
}
