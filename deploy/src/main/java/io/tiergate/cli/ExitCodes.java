package io.tiergate.cli;

/** Exit codes every command shares. */
public final class ExitCodes {
    public static final int OK = 0;
    /** Something failed at run time (a port in use, a kernel error). */
    public static final int FAILURE = 1;
    /** The configuration or the command line is wrong: the user has to fix it. */
    public static final int CONFIG = 2;
    public static final int USAGE = 2;
    /** A conversion printed its result but could not carry everything over (each item is listed on stderr). */
    public static final int INCOMPLETE = 3;
    /** Needs privileges the process does not have. */
    public static final int NO_PERMISSION = 77;

    private ExitCodes() {
    }
}
