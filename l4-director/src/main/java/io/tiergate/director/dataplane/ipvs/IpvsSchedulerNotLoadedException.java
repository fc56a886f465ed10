package io.tiergate.director.dataplane.ipvs;

/** NEW/SET_SERVICE named a scheduler (or persistence engine) whose module isn't loaded (ENOENT). */
public final class IpvsSchedulerNotLoadedException extends IpvsException {
    private static final long serialVersionUID = 1L;

    public IpvsSchedulerNotLoadedException(String message, int errno) {
        super(message, errno);
    }
}
