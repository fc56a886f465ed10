package io.tiergate.proxy.request;

/**
 * A request the proxy refuses before routing: the status the client gets and a message naming what was wrong.
 * A user error, so no stack trace. {@code allow} is the Allow header of a 405 (else null).
 */
public final class BadRequest extends RuntimeException {
    private static final long serialVersionUID = 1L;
    private final int status;
    private final String allow;

    public BadRequest(String message) {
        this(400, message, null);
    }

    BadRequest(int status, String message, String allow) {
        super(message, null, false, false);
        this.status = status;
        this.allow = allow;
    }

    public int status() {
        return status;
    }

    public String allow() {
        return allow;
    }
}
