package io.tiergate.director.engine;

/** An operator command named a service or real server the director does not have. */
public final class UnknownRealServerException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public UnknownRealServerException(String message) {
        super(message);
    }
}
