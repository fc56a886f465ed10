package io.tiergate.cli.lab;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * What both labs (the HA pair of {@link Lab}, the BGP scale-out of {@link ScaleOutLab}) do the same way: the state file
 * that records every namespace and process a lab made (so {@code lab down} removes exactly that, from any later
 * process), start-up as one all-or-nothing step, and the processes' PIDs, logs and signals.
 */
abstract class LabBase {
    protected final Path stateDir;
    protected final Path jar;
    protected final String java;

    LabBase(Path stateDir, Path jar, String java) {
        this.stateDir = stateDir;
        this.jar = jar;
        this.java = java;
    }

    /** The namespace of a lab host. */
    abstract String namespaceOf(String host);

    /** Records what kind of lab this is before anything is made (read back by a later {@code lab} command). */
    abstract void describe(Properties state);

    abstract void buildNetwork(Properties state) throws IOException;

    abstract void startProcesses(String dataplane, Properties state) throws IOException;

    /** Returns once a client request through the VIP succeeds; throws with what was seen last. */
    abstract void waitReady(Duration timeout) throws InterruptedException;

    public boolean isUp() {
        return Files.exists(stateDir.resolve("state.properties"));
    }

    /** Builds the network, starts every process and waits until the VIP answers; on any failure removes what it made. */
    public void up(String dataplane, Duration readyTimeout) throws IOException, InterruptedException {
        if (isUp()) {
            throw new IllegalStateException("the lab is already up (state in " + stateDir + "); run 'tiergate lab down' first");
        }
        Files.createDirectories(stateDir);
        Properties state = new Properties();
        describe(state);
        state.setProperty("namespaces", "");
        saveState(state);
        try {
            buildNetwork(state);
            startProcesses(dataplane, state);
            waitReady(readyTimeout);
        } catch (IOException | InterruptedException | RuntimeException e) {
            down();
            throw e;
        }
    }

    /** A Tiergate JVM in {@code host}'s namespace, its output appended to {@code host.log}; small heap, quick start. */
    Process spawn(String host, List<String> args) throws IOException {
        List<String> cmd = new ArrayList<>(List.of(java, "-Xmx160m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
                "-jar", jar.toString()));
        cmd.addAll(args);
        return Netns.spawn(namespaceOf(host), stateDir.resolve(host + ".log"), cmd, true);
    }

    /** Host → PID of every process the lab started, from the state file. */
    Map<String, Long> pids() {
        Map<String, Long> out = new LinkedHashMap<>();
        for (String entry : loadState().getProperty("pids", "").split(",")) {
            if (!entry.isEmpty()) {
                out.put(entry.split(":")[0], Long.parseLong(entry.split(":")[1]));
            }
        }
        return out;
    }

    /** The PID of the process the lab runs on {@code host}, or -1. */
    public long pid(String host) {
        return pids().getOrDefault(host, -1L);
    }

    /** SIGKILL, like a crashed node. */
    public void kill(String host) {
        ProcessHandle.of(pid(host)).ifPresent(ProcessHandle::destroyForcibly);
    }

    /** SIGTERM, a clean stop; SIGKILL if it is still there after {@code timeout}. */
    public void stop(String host, Duration timeout) throws InterruptedException {
        Optional<ProcessHandle> h = ProcessHandle.of(pid(host));
        if (h.isPresent()) {
            h.get().destroy();
            try {
                h.get().onExit().get(timeout.toMillis(), TimeUnit.MILLISECONDS);
            } catch (ExecutionException | TimeoutException e) {
                h.get().destroyForcibly();
            }
        }
    }

    /** Starts {@code host}'s process with {@code args} (again, after kill or stop) and records its new PID. */
    void respawn(String host, List<String> args) throws IOException {
        Properties state = loadState();
        List<String> pids = new ArrayList<>();
        for (String e : state.getProperty("pids", "").split(",")) {
            if (!e.isEmpty() && !e.startsWith(host + ":")) {
                pids.add(e);
            }
        }
        pids.add(host + ":" + spawn(host, args).pid());
        state.setProperty("pids", String.join(",", pids));
        saveState(state);
    }

    /** Throws, with the end of its log, when a process the lab started has exited. */
    void checkProcesses() {
        for (Map.Entry<String, Long> p : pids().entrySet()) {
            if (ProcessHandle.of(p.getValue()).map(ProcessHandle::isAlive).orElse(false)) {
                continue;
            }
            String log;
            try {
                List<String> lines = Files.readAllLines(stateDir.resolve(p.getKey() + ".log"));
                log = String.join("\n", lines.subList(Math.max(0, lines.size() - 15), lines.size()));
            } catch (IOException e) {
                log = "(no log)";
            }
            throw new IllegalStateException(p.getKey() + " exited during start-up; its log ends with:\n" + log);
        }
    }

    /** One status line per host: name, address, namespace present, process state. */
    List<String> hostLines(Map<String, String> hosts) {
        List<String> out = new ArrayList<>();
        Map<String, Long> pids = pids();
        List<String> existing = Netns.list();
        for (Map.Entry<String, String> h : hosts.entrySet()) {
            Long pid = pids.get(h.getKey());
            String proc = pid == null ? "" : ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false)
                    ? "running (pid " + pid + ")" : "EXITED (see " + stateDir.resolve(h.getKey() + ".log") + ")";
            out.add(String.format("%-8s %-14s %-12s %s", h.getKey(), h.getValue(),
                    existing.contains(namespaceOf(h.getKey())) ? "up" : "MISSING", proc));
        }
        return out;
    }

    /** Stops every process the lab started and deletes every namespace it made (as recorded). Safe to call twice. */
    public void down() {
        Properties state = loadState();
        for (Long pid : pids().values()) {
            ProcessHandle.of(pid).ifPresent(ProcessHandle::destroyForcibly);
        }
        List<String> existing = Netns.list();
        for (String ns : state.getProperty("namespaces", "").split(",")) {
            if (!ns.isEmpty() && existing.contains(ns)) {
                Netns.delete(ns);
            }
        }
        try {
            Files.deleteIfExists(stateDir.resolve("state.properties"));
        } catch (IOException ignored) {
            // Nothing left to undo.
        }
    }

    Properties loadState() {
        return loadState(stateDir);
    }

    static Properties loadState(Path stateDir) {
        Properties p = new Properties();
        try (var in = Files.newBufferedReader(stateDir.resolve("state.properties"))) {
            p.load(in);
        } catch (IOException ignored) {
            // No state: nothing is up.
        }
        return p;
    }

    void saveState(Properties p) throws IOException {
        try (var out = Files.newBufferedWriter(stateDir.resolve("state.properties"), StandardCharsets.UTF_8)) {
            p.store(out, "tiergate lab: what 'lab up' made; 'lab down' removes exactly this");
        }
    }
}
