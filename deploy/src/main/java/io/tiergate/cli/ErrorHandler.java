package io.tiergate.cli;

import io.tiergate.shared.config.ConfigException;
import picocli.CommandLine;

/**
 * Errors the user caused become a message and an exit code, never a stack trace; anything else is a bug and
 * keeps its stack trace.
 */
final class ErrorHandler implements CommandLine.IExecutionExceptionHandler {
    @Override
    public int handleExecutionException(Exception ex, CommandLine cl, CommandLine.ParseResult parseResult) {
        if (ex instanceof ConfigException ce) {
            cl.getErr().println(ce.getMessage());
            cl.getErr().println(ce.problems().size() == 1 ? "1 problem; nothing was started."
                    : ce.problems().size() + " problems; nothing was started.");
            return ExitCodes.CONFIG;
        }
        if (ex instanceof UserException ue) {
            cl.getErr().println("tiergate: " + ue.getMessage());
            return ue.exitCode();
        }
        ex.printStackTrace(cl.getErr());
        return ExitCodes.FAILURE;
    }
}
