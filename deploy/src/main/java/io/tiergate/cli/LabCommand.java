package io.tiergate.cli;

import io.tiergate.cli.lab.Lab;
import io.tiergate.cli.lab.Netns;
import io.tiergate.cli.lab.ScaleOutLab;
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
            "  sudo ./tiergate lab up --directors 3 --bgp     (N active directors behind a BGP/ECMP router)",
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

    static Path jar() {
        try {
            return Path.of(Main.class.getProtectionDomain().getCodeSource().getLocation().toURI());
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    static String java() {
        return ProcessHandle.current().info().command().orElse("java");
    }

    /** The scale-out lab when that is what is up. */
    static java.util.Optional<ScaleOutLab> scaleOut() {
        return ScaleOutLab.running(STATE, jar(), java());
    }

    static Lab lab() {
        String why = Netns.unavailableReason();
        if (why != null) {
            throw new UserException("lab " + why + "; run it with sudo", ExitCodes.NO_PERMISSION);
        }
        Path jar = jar();
        if (!Files.isRegularFile(jar)) {
            throw new UserException("lab runs its processes from the packaged jar; start it with ./tiergate lab ...",
                    ExitCodes.FAILURE);
        }
        return new Lab(STATE, jar, java());
    }

    @Command(name = "up", mixinStandardHelpOptions = true, description = "Build the topology and start every process.")
    static final class Up implements Callable<Integer> {
        @Option(names = "--dataplane", defaultValue = "auto", description = "Director dataplane: auto (default), nft, ipvs or userspace.")
        String dataplane;

        @Option(names = "--bgp", description = "Scale-out mode: a router namespace running BIRD with ECMP, and N active "
                + "directors announcing the VIP " + ScaleOutLab.VIP + " over BGP with BFD (instead of a VRRP pair).")
        boolean bgp;

        @Option(names = "--directors", paramLabel = "N", defaultValue = "3",
                description = "With --bgp: how many active directors, 1.." + ScaleOutLab.MAX_DIRECTORS + " (default 3).")
        int directors;

        @picocli.CommandLine.Spec
        picocli.CommandLine.Model.CommandSpec spec;

        @Override
        public Integer call() throws Exception {
            Lab lab = lab();
            if (lab.isUp()) {
                throw new UserException("the lab is already up; 'tiergate lab status' shows it, 'tiergate lab down' removes it",
                        ExitCodes.FAILURE);
            }
            if (spec.commandLine().getParseResult().hasMatchedOption("--directors") && !bgp) {
                throw new UserException("--directors needs --bgp (the default lab is a VRRP pair of two directors)",
                        ExitCodes.USAGE);
            }
            if (bgp) {
                return upScaleOut();
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

        private int upScaleOut() throws Exception {
            if (directors < 1 || directors > ScaleOutLab.MAX_DIRECTORS) {
                throw new UserException("--directors " + directors + " (expected: 1.." + ScaleOutLab.MAX_DIRECTORS + ")",
                        ExitCodes.USAGE);
            }
            if (!java.nio.file.Files.isExecutable(Path.of("/usr/sbin/bird"))) {
                throw new UserException("--bgp runs BIRD 2 on the router and the directors: apt-get install bird2",
                        ExitCodes.FAILURE);
            }
            ScaleOutLab so = new ScaleOutLab(Lab.PREFIX, STATE, jar(), java(), directors);
            System.out.println("building namespaces " + Lab.PREFIX + "* (router with BIRD + ECMP, " + directors
                    + " directors announcing over BGP) and starting " + (directors + 6) + " processes...");
            try {
                so.up(dataplane, Duration.ofSeconds(90));
            } catch (IllegalStateException e) {
                throw new UserException(e.getMessage(), ExitCodes.FAILURE);
            }
            so.status().forEach(System.out::println);
            System.out.println();
            System.out.println("try:   sudo ./tiergate lab exec client curl -s http://" + ScaleOutLab.VIP + "/");
            System.out.println("       sudo ./tiergate lab exec dir1 ./tiergate director status");
            System.out.println("       sudo ./tiergate lab exec router birdc -s " + STATE.resolve("router-bird.ctl")
                    + " show route all");
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
            var so = scaleOut();
            (so.isPresent() ? so.get().status() : lab.status()).forEach(System.out::println);
            return ExitCodes.OK;
        }
    }

    @Command(name = "exec", mixinStandardHelpOptions = true,
            description = "Run a command on a lab host: client, dir1, dir2, proxy1..3, origin1..2 (scale-out: also router, dir3..N).")
    static final class Exec implements Callable<Integer> {
        @Parameters(index = "0", paramLabel = "HOST")
        String host;

        @Parameters(index = "1..*", paramLabel = "COMMAND", arity = "1..*")
        List<String> command = new ArrayList<>();

        @Override
        public Integer call() throws Exception {
            lab();
            var so = scaleOut();
            java.util.Set<String> hosts = so.isPresent() ? so.get().hosts().keySet() : Lab.HOSTS.keySet();
            if (!hosts.contains(host)) {
                throw new UserException("unknown lab host '" + host + "' (expected: one of "
                        + String.join(", ", hosts) + ")", ExitCodes.USAGE);
            }
            List<String> cmd = new ArrayList<>(List.of("ip", "netns", "exec", so.isPresent() ? so.get().ns(host)
                    : Lab.ns(host)));
            cmd.addAll(command);
            return new ProcessBuilder(cmd).inheritIO().start().waitFor();
        }
    }
}
