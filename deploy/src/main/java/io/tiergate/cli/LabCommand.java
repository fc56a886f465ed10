package io.tiergate.cli;

import io.tiergate.cli.lab.Lab;
import io.tiergate.cli.lab.Netns;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;

@Command(name = "lab", mixinStandardHelpOptions = true,
        description = {"Build a real LVS-DR topology in network namespaces on this machine (root).",
            "A client, two directors (VRRP), three proxy nodes and two origins on one bridge, VIP " + Lab.VIP + "."},
        subcommands = {LabCommand.Up.class, LabCommand.Down.class, LabCommand.Status.class, LabCommand.Exec.class},
        footer = {"", "Examples:",
            "  sudo ./tiergate lab up",
            "  sudo ./tiergate lab exec client curl -s http://" + Lab.VIP + "/",
            "  sudo ./tiergate lab status",
            "  sudo ./tiergate lab down"})
final class LabCommand implements Runnable {
    static final Path STATE = Path.of("/run/tiergate-lab");

    @picocli.CommandLine.Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(spec.commandLine().getOut());
    }

    static Lab lab() {
        String why = Netns.unavailableReason();
        if (why != null) {
            throw new UserException("lab " + why + "; run it with sudo", ExitCodes.NO_PERMISSION);
        }
        Path jar;
        try {
            jar = Path.of(Main.class.getProtectionDomain().getCodeSource().getLocation().toURI());
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
        if (!Files.isRegularFile(jar)) {
            throw new UserException("lab runs its processes from the packaged jar; start it with ./tiergate lab ...",
                    ExitCodes.FAILURE);
        }
        return new Lab(STATE, jar, ProcessHandle.current().info().command().orElse("java"));
    }

    @Command(name = "up", mixinStandardHelpOptions = true, description = "Build the topology and start every process.")
    static final class Up implements Callable<Integer> {
        @Option(names = "--dataplane", defaultValue = "auto", description = "Director dataplane: auto (default), nft, ipvs or userspace.")
        String dataplane;

        @Override
        public Integer call() throws Exception {
            Lab lab = lab();
            if (lab.isUp()) {
                throw new UserException("the lab is already up; 'tiergate lab status' shows it, 'tiergate lab down' removes it",
                        ExitCodes.FAILURE);
            }
            System.out.println("building namespaces " + Lab.PREFIX + "* and starting 7 processes (about 10-20 s)...");
            try {
                lab.up(dataplane, Duration.ofSeconds(60));
            } catch (IllegalStateException e) {
                throw new UserException(e.getMessage(), ExitCodes.FAILURE);
            }
            lab.status().forEach(System.out::println);
            System.out.println();
            System.out.println("try:   sudo ./tiergate lab exec client curl -s http://" + Lab.VIP + "/");
            System.out.println("then:  sudo ./tiergate lab down");
            return ExitCodes.OK;
        }
    }

    @Command(name = "down", mixinStandardHelpOptions = true, description = "Stop every lab process and delete its namespaces.")
    static final class Down implements Callable<Integer> {
        @Override
        public Integer call() {
            lab().down();
            System.out.println("lab removed");
            return ExitCodes.OK;
        }
    }

    @Command(name = "status", mixinStandardHelpOptions = true, description = "Show hosts, processes and a request through the VIP.")
    static final class Status implements Callable<Integer> {
        @Override
        public Integer call() {
            Lab lab = lab();
            if (!lab.isUp()) {
                System.out.println("the lab is down ('tiergate lab up' starts it)");
                return ExitCodes.FAILURE;
            }
            lab.status().forEach(System.out::println);
            return ExitCodes.OK;
        }
    }

    @Command(name = "exec", mixinStandardHelpOptions = true,
            description = "Run a command on a lab host: client, dir1, dir2, proxy1..3, origin1..2.")
    static final class Exec implements Callable<Integer> {
        @Parameters(index = "0", paramLabel = "HOST")
        String host;

        @Parameters(index = "1..*", paramLabel = "COMMAND", arity = "1..*")
        List<String> command = new ArrayList<>();

        @Override
        public Integer call() throws Exception {
            if (!Lab.HOSTS.containsKey(host)) {
                throw new UserException("unknown lab host '" + host + "' (expected: one of "
                        + String.join(", ", Lab.HOSTS.keySet()) + ")", ExitCodes.USAGE);
            }
            lab();
            List<String> cmd = new ArrayList<>(List.of("ip", "netns", "exec", Lab.ns(host)));
            cmd.addAll(command);
            return new ProcessBuilder(cmd).inheritIO().start().waitFor();
        }
    }
}
