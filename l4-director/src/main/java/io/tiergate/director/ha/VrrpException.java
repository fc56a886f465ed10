package io.tiergate.director.ha;

/** VRRP could not start or run: a socket, interface or address problem the operator has to fix. */
public final class VrrpException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public VrrpException(String message) {
        super(message);
    }

    public VrrpException(String message, Throwable cause) {
        super(message, cause);
    }
}
