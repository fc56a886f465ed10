package io.tiergate.cli;

import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;

import java.nio.file.Path;
import java.util.concurrent.Callable;

@Command(name = "config", description = "Work with configuration files.",
        mixinStandardHelpOptions = true,
        subcommands = {ConfigCommand.Check.class, ConfigCommand.ImportKeepalived.class})
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

    @Command(name = "import-keepalived", mixinStandardHelpOptions = true,
            description = {"Convert a keepalived.conf's vrrp_instance and virtual_server blocks into a Tiergate "
                    + "director config (YAML on stdout).",
                "Every keyword it cannot carry over is listed on stderr as FILE:LINE: keyword: why."},
            footer = {"", "Example:", "  tiergate config import-keepalived /etc/keepalived/keepalived.conf > director.yaml",
                "", "Exit codes: 0 everything mapped, 3 printed but something was not mapped (see stderr), "
                    + "2 the file cannot be read."})
    static final class ImportKeepalived implements Callable<Integer> {
        @Parameters(paramLabel = "FILE", description = "The keepalived.conf to convert.")
        Path file;

        @picocli.CommandLine.Spec
        picocli.CommandLine.Model.CommandSpec spec;

        @Override
        public Integer call() {
            String text;
            try {
                text = java.nio.file.Files.readString(file);
            } catch (java.nio.file.NoSuchFileException e) {
                throw new UserException(file + ": file not found", ExitCodes.CONFIG);
            } catch (java.io.IOException | java.io.UncheckedIOException e) {
                throw new UserException(file + ": cannot read: " + e.getMessage(), ExitCodes.CONFIG);
            }
            io.tiergate.cli.keepalived.KeepalivedImport.Result r = io.tiergate.cli.keepalived.KeepalivedImport.convert(text);
            spec.commandLine().getOut().print(r.yaml());
            spec.commandLine().getOut().flush();
            java.io.PrintWriter err = spec.commandLine().getErr();
            for (String p : r.syntaxProblems()) {
                err.println(file + ":" + p);
            }
            for (io.tiergate.cli.keepalived.KeepalivedImport.Unmapped u : r.unmapped()) {
                err.println(file + ":" + u.line() + ": " + u.keyword() + ": not imported: " + u.why());
            }
            if (!r.complete()) {
                err.println((r.unmapped().size() + r.syntaxProblems().size()) + " item(s) not imported; "
                        + "the rest is on stdout");
            }
            err.flush();
            return r.complete() ? ExitCodes.OK : ExitCodes.INCOMPLETE;
        }
    }
}
