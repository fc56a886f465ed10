package io.tiergate.cli.lab;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Thin wrapper over iproute2 for building test and lab topologies in network namespaces. Every name it creates
 * is given by the caller, so cleanup removes exactly what was made and nothing else.
 */
public final class Netns {
    private Netns() {
    }

    /** Why namespaces can't be used here, or null when they can. */
    public static String unavailableReason() {
        if (!"root".equals(System.getProperty("user.name"))) {
            return "needs root (network namespaces)";
        }
        if (!Files.isExecutable(Path.of("/usr/sbin/ip")) && !Files.isExecutable(Path.of("/sbin/ip"))
                && !Files.isExecutable(Path.of("/usr/bin/ip"))) {
            return "needs iproute2 (the ip command)";
        }
        return null;
    }

    public static List<String> list() {
        List<String> out = new ArrayList<>();
        for (String line : run("ip", "netns", "list").split("\n")) {
            if (!line.isBlank()) {
                out.add(line.trim().split("\\s+")[0]);
            }
        }
        return out;
    }

    public static void add(String ns) {
        run("ip", "netns", "add", ns);
        exec(ns, "ip", "link", "set", "lo", "up");
        // New namespaces may inherit ip_forward=1: hosts would then forward VIP traffic to each other.
        exec(ns, "sysctl", "-qw", "net.ipv4.ip_forward=0");
    }

    public static void delete(String ns) {
        runQuiet("ip", "netns", "pids", ns).lines().forEach(pid -> runQuiet("kill", "-9", pid.trim()));
        runQuiet("ip", "netns", "del", ns);
    }

    /** Runs a command inside {@code ns} and returns its standard output; throws if it fails. */
    public static String exec(String ns, String... cmd) {
        List<String> full = new ArrayList<>(List.of("ip", "netns", "exec", ns));
        full.addAll(List.of(cmd));
        return run(full.toArray(String[]::new));
    }

    /** Starts a long-running process inside {@code ns}; output goes to {@code log}. */
    public static Process spawn(String ns, Path log, List<String> cmd) throws IOException {
        return spawn(ns, log, cmd, false);
    }

    /** Like {@link #spawn(String, Path, List)}; {@code append} keeps earlier output of a restarted process. */
    public static Process spawn(String ns, Path log, List<String> cmd, boolean append) throws IOException {
        List<String> full = new ArrayList<>(List.of("ip", "netns", "exec", ns));
        full.addAll(cmd);
        return new ProcessBuilder(full).redirectErrorStream(true)
                .redirectOutput(append ? ProcessBuilder.Redirect.appendTo(log.toFile()) : ProcessBuilder.Redirect.to(log.toFile()))
                .start();
    }

    public static String run(String... cmd) {
        Result r = runResult(cmd);
        if (r.exit() != 0) {
            throw new IllegalStateException(String.join(" ", cmd) + " failed (exit " + r.exit() + "): " + r.output().trim());
        }
        return r.output();
    }

    public static String runQuiet(String... cmd) {
        return runResult(cmd).output();
    }

    public record Result(int exit, String output) {
    }

    public static Result runResult(String... cmd) {
        try {
            Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
            byte[] out = p.getInputStream().readAllBytes();
            if (!p.waitFor(30, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                return new Result(-1, "timed out");
            }
            return new Result(p.exitValue(), new String(out, StandardCharsets.UTF_8));
        } catch (IOException e) {
            return new Result(-1, e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return new Result(-1, "interrupted");
        }
    }

    /** A veth pair with one end in each namespace ({@code null} = the root namespace), addresses optional. */
    public static void veth(String nsA, String ifA, String addrA, String nsB, String ifB, String addrB) {
        run("ip", "link", "add", ifA + "x", "type", "veth", "peer", "name", ifB + "y");
        place(nsA, ifA + "x", ifA, addrA);
        place(nsB, ifB + "y", ifB, addrB);
    }

    private static void place(String ns, String tmp, String name, String addr) {
        if (ns != null) {
            run("ip", "link", "set", tmp, "netns", ns);
            exec(ns, "ip", "link", "set", tmp, "name", name);
            if (addr != null) {
                exec(ns, "ip", "addr", "add", addr, "dev", name);
            }
            exec(ns, "ip", "link", "set", name, "up");
        } else {
            run("ip", "link", "set", tmp, "name", name);
            if (addr != null) {
                run("ip", "addr", "add", addr, "dev", name);
            }
            run("ip", "link", "set", name, "up");
        }
    }
}
