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
            TiergateConfig cfg = TiergateConfig.load(file);
            StringBuilder what = new StringBuilder();
            cfg.director().ifPresent(d -> what.append("director"));
            cfg.proxy().ifPresent(p -> what.append(what.length() > 0 ? " and proxy" : "proxy"));
            spec.commandLine().getOut().println(file + ": OK (" + what + ")");
            return ExitCodes.OK;
        }
    }
}
