package io.tiergate.director.netlink;

/** A system call or the kernel said no; {@link #errno()} says why. */
public class NetlinkException extends RuntimeException {
    private static final long serialVersionUID = 1L;
    private final int errno;

    public NetlinkException(String message, int errno) {
        super(message);
        this.errno = errno;
    }

    public int errno() {
        return errno;
    }
}
