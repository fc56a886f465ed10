package io.tiergate.cli;

import io.tiergate.shared.signal.Signals;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code tiergate reload --pid-file FILE}: SIGHUP to the proxy or director that wrote FILE ({@code --pid-file} of
 * {@code tiergate proxy|director}), like {@code nginx -s reload}. The result of the reload is in that process's log.
 */
@Command(name = "reload", mixinStandardHelpOptions = true,
        description = "Reload a running proxy or director (sends SIGHUP to the process named in its pid file).",
        footer = {"", "Examples:", "  tiergate reload --pid-file /run/tiergate/proxy.pid",
            "  tiergate reload --pid-file /run/tiergate/director.pid", "",
            "The running process validates the file; an invalid one is rejected in its log and the old config keeps",
            "serving. Check first with `tiergate proxy -t -c FILE`. Exit codes: 0 signal sent, 1 nothing to reload."})
final class ReloadCommand implements Callable<Integer> {
    @Option(names = "--pid-file", required = true, paramLabel = "FILE",
            description = "The pid file the running tier was started with (--pid-file).")
    Path pidFile;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() {
        long pid = readPid();
        String cmdline = cmdline(pid);
        if (cmdline == null) {
            throw new UserException("process " + pid + " from " + pidFile + " is not running (a stale pid file: the "
                    + "tier stopped without removing it); nothing to reload", ExitCodes.FAILURE);
        }
        if (!cmdline.contains("tiergate")) {
            throw new UserException("process " + pid + " from " + pidFile + " is not tiergate (" + cmdline.trim()
                    + "): the pid file is stale and its pid was reused; not signalling it", ExitCodes.FAILURE);
        }
        String error = Signals.send(pid, "HUP");
        if (error != null) {
            throw new UserException("cannot signal process " + pid + ": " + error, ExitCodes.FAILURE);
        }
        spec.commandLine().getOut().println("sent SIGHUP to tiergate " + (cmdline.contains(" director ") ? "director "
                : cmdline.contains(" proxy ") ? "proxy " : "") + "(pid " + pid + "); its log says whether the reload applied");
        return ExitCodes.OK;
    }

    private long readPid() {
        String text;
        try {
            text = Files.readString(pidFile, StandardCharsets.US_ASCII).trim();
        } catch (NoSuchFileException e) {
            throw new UserException("no pid file at " + pidFile + ": nothing is running with --pid-file " + pidFile,
                    ExitCodes.FAILURE);
        } catch (IOException e) {
            throw new UserException("cannot read " + pidFile + ": " + e, ExitCodes.FAILURE);
        }
        try {
            long pid = Long.parseLong(text);
            if (pid > 1) {
                return pid;
            }
        } catch (NumberFormatException e) {
            // below
        }
        throw new UserException(pidFile + " does not hold a process id (it holds '" + text + "')", ExitCodes.FAILURE);
    }

    /** The process's command line with NULs as spaces, or null when it does not exist. */
    private static String cmdline(long pid) {
        try {
            return new String(Files.readAllBytes(Path.of("/proc", Long.toString(pid), "cmdline")),
                    StandardCharsets.UTF_8).replace('\0', ' ');
        } catch (IOException e) {
            return null;
        }
    }
}
