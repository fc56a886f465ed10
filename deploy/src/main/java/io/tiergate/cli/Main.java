package io.tiergate.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** The {@code tiergate} command. */
@Command(name = "tiergate",
        mixinStandardHelpOptions = true,
        versionProvider = Main.Version.class,
        description = {"Tiergate: an LVS-style L4 director and an nginx-class L7 proxy, as one product.", ""},
        subcommands = {
            DemoCommand.class,
            DirectorCommand.class,
            ProxyCommand.class,
            CacheCommand.class,
            ConfigCommand.class,
            ReloadCommand.class,
            DoctorCommand.class,
            OriginCommand.class,
            LabCommand.class,
            CommandLine.HelpCommand.class
        },
        footer = {"", "Examples:",
            "  tiergate demo                           both tiers on loopback, no root: try it first",
            "  tiergate config check tiergate.yaml     validate a config file, every problem at once",
            "  tiergate director -c tiergate.yaml      run the L4 director",
            "  tiergate proxy -c tiergate.yaml         run the L7 proxy",
            "  tiergate reload --pid-file FILE         reload a running proxy or director (SIGHUP)"})
public final class Main implements Runnable {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    public static void main(String[] args) {
        // Netty's own Flight Recorder events (buffer-allocator chunks) load ~80 JFR classes into every process at
        // first use of a buffer; nothing in Tiergate's operations needs them. JFR itself (jcmd JFR.start) still works,
        // and -Dio.netty.jfr.enabled=true brings the events back.
        if (System.getProperty("io.netty.jfr.enabled") == null) {
            System.setProperty("io.netty.jfr.enabled", "false");
        }
        System.exit(run(args));
    }

    /** Runs the command line and returns the exit code (tests call this instead of main). */
    public static int run(String... args) {
        return run(new java.io.PrintWriter(System.out, true), new java.io.PrintWriter(System.err, true), args);
    }

    /** Runs with the given output streams (tests capture them). */
    public static int run(java.io.PrintWriter out, java.io.PrintWriter err, String... args) {
        CommandLine cl = new CommandLine(new Main());
        // `lab exec HOST curl -s ...`: everything after HOST belongs to the command, not to us.
        cl.getSubcommands().get("lab").getSubcommands().get("exec").setStopAtPositional(true)
                .setUnmatchedOptionsArePositionalParams(true);
        cl.setUsageHelpWidth(110);
        cl.setOut(out);
        cl.setErr(err);
        cl.setExecutionExceptionHandler(new ErrorHandler());
        cl.setParameterExceptionHandler((ex, a) -> {
            ex.getCommandLine().getErr().println("tiergate: " + ex.getMessage());
            ex.getCommandLine().getErr().println("Try '" + ex.getCommandLine().getCommandSpec().qualifiedName()
                    + " --help' for usage.");
            return ExitCodes.USAGE;
        });
        return cl.execute(args);
    }

    @Override
    public void run() {
        spec.commandLine().usage(spec.commandLine().getOut());
    }

    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            String v = Main.class.getPackage().getImplementationVersion();
            return new String[] {"tiergate " + (v == null ? BuildInfo.VERSION : v),
                "Java " + System.getProperty("java.version") + " (" + System.getProperty("java.vendor") + ")"};
        }
    }
}
