package io.tiergate.cli;

import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;

import java.nio.file.Path;
import java.util.concurrent.Callable;

@Command(name = "config", description = "Work with configuration files.",
        mixinStandardHelpOptions = true,
        subcommands = {ConfigCommand.Check.class})
final class ConfigCommand implements Runnable {
    @picocli.CommandLine.Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(spec.commandLine().getOut());
    }

    @Command(name = "check", mixinStandardHelpOptions = true,
            description = "Validate a config file and print every problem as FILE:LINE:COL: path: what is wrong.",
            footer = {"", "Example:", "  tiergate config check deploy/examples/proxy.yaml", "",
                "Exit codes: 0 valid, 2 invalid."})
    static final class Check implements Callable<Integer> {
        @Parameters(paramLabel = "FILE", description = "The YAML file to check.")
        Path file;

        @picocli.CommandLine.Spec
        picocli.CommandLine.Model.CommandSpec spec;

        @Override
        public Integer call() {
            return check(file, null, spec.commandLine().getOut());
        }
    }

    /**
     * Validates {@code file} (every problem, FILE:LINE:COL, exit 2 through the error handler) and prints one OK line.
     * {@code tier} "proxy" or "director" also requires that section ({@code tiergate proxy -t}); null accepts either.
     */
    static int check(Path file, String tier, java.io.PrintWriter out) {
        TiergateConfig cfg = TiergateConfig.load(file);
        if ("proxy".equals(tier) && cfg.proxy().isEmpty() || "director".equals(tier) && cfg.director().isEmpty()) {
            throw new UserException(file + " has no '" + tier + ":' section", ExitCodes.CONFIG);
        }
        StringBuilder what = new StringBuilder();
        cfg.director().ifPresent(d -> what.append("director"));
        cfg.proxy().ifPresent(p -> what.append(what.length() > 0 ? " and proxy" : "proxy"));
        out.println(file + ": OK (" + what + ")");
        out.flush();
        return ExitCodes.OK;
    }
}
