package io.tiergate.director.dataplane;

/** The dataplane refused or failed a read or a change; the message says what and, when known, what to do. */
public class DataplaneException extends Exception {
    private static final long serialVersionUID = 1L;

    public DataplaneException(String message) {
        super(message);
    }

    public DataplaneException(String message, Throwable cause) {
        super(message, cause);
    }
}
