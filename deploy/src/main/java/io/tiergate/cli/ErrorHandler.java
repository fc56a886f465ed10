package io.tiergate.cli;

import io.tiergate.shared.config.ConfigException;
import io.tiergate.shared.logging.Logging;
import org.slf4j.LoggerFactory;
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
            if (Logging.configured() && runsATier(cl)) {
                // A long-running tier failing after its logging is set up: one line in the log's own format (JSON
                // stays JSON), not a plain one among them.
                LoggerFactory.getLogger(Logging.LIFECYCLE).error("{}", ue.getMessage());
            } else {
                cl.getErr().println("tiergate: " + ue.getMessage());
            }
            return ue.exitCode();
        }
        ex.printStackTrace(cl.getErr());
        return ExitCodes.FAILURE;
    }

    /** {@code tiergate proxy} or {@code tiergate director} itself (not {@code director status} and the like). */
    private static boolean runsATier(CommandLine cl) {
        String name = cl.getCommandName();
        return (name.equals("proxy") || name.equals("director")) && cl.getParent() != null
                && cl.getParent().getParent() == null;
    }
}
