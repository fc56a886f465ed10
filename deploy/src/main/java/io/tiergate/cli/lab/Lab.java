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
 * A real LVS-DR topology on one machine, in network namespaces: a client, two directors, three proxy nodes and
 * two origins on one bridge. The bridge lives in its own namespace so the lab never touches the host's network.
 * What it made is recorded in a state directory; {@code down} removes exactly that.
 */
public final class Lab {
    public static final String PREFIX = "tglab-";
    public static final String SUBNET = "10.77.0.";
    public static final String VIP = SUBNET + "100";
    public static final int VIP_PORT = 80;
    static final String SWITCH = PREFIX + "sw";

    /** Host name in the lab → its address. */
    public static final Map<String, String> HOSTS = hosts();

    private final Path stateDir;
    private final Path jar;
    private final String java;
    /** Proxy node name → the config file the lab writes for it (tests may give their own, e.g. with TLS). */
    private java.util.function.Function<String, String> proxyConfig = LabConfigs::proxy;
    /** Extra command-line options of every proxy node (e.g. the systemd unit's {@code --watch-interval 0}). */
    private List<String> proxyOptions = List.of();

    public Lab(Path stateDir, Path jar, String java) {
        this.stateDir = stateDir;
        this.jar = jar;
        this.java = java;
    }

    private static Map<String, String> hosts() {
        Map<String, String> m = new LinkedHashMap<>();
        m.put("client", SUBNET + "2");
        m.put("dir1", SUBNET + "11");
        m.put("dir2", SUBNET + "12");
        m.put("proxy1", SUBNET + "21");
        m.put("proxy2", SUBNET + "22");
        m.put("proxy3", SUBNET + "23");
        m.put("origin1", SUBNET + "31");
        m.put("origin2", SUBNET + "32");
        return m;
    }

    /** Replaces the proxy nodes' config (before {@link #up}); the file is {@link #configFile}, read again on restart. */
    public Lab proxyConfig(java.util.function.Function<String, String> config) {
        this.proxyConfig = config;
        return this;
    }

    /** Extra options for every {@code tiergate proxy} the lab starts (before {@link #up}; kept for restarts). */
    public Lab proxyOptions(List<String> options) {
        this.proxyOptions = List.copyOf(options);
        return this;
    }

    /** The config file of {@code host} (a proxy node or a director) in the state directory. */
    public Path configFile(String host) {
        return stateDir.resolve(host + ".yaml");
    }

    /** The log file of {@code host}'s process (stdout and stderr; a restarted process appends). */
    public Path logFile(String host) {
        return stateDir.resolve(host + ".log");
    }

    public static String ns(String host) {
        return PREFIX + host;
    }

    public boolean isUp() {
        return Files.exists(stateDir.resolve("state.properties"));
    }

    /** Builds the network, starts every process, and waits until a request through the VIP succeeds. */
    public void up(String dataplane, Duration readyTimeout) throws IOException, InterruptedException {
        if (isUp()) {
            throw new IllegalStateException("the lab is already up (state in " + stateDir + "); run 'tiergate lab down' first");
        }
        Files.createDirectories(stateDir);
        Properties state = new Properties();
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

    private void buildNetwork(Properties state) throws IOException {
        List<String> made = new ArrayList<>();
        Netns.add(SWITCH);
        made.add(SWITCH);
        state.setProperty("namespaces", String.join(",", made));
        saveState(state);
        Netns.exec(SWITCH, "ip", "link", "add", "br0", "type", "bridge");
        Netns.exec(SWITCH, "ip", "link", "set", "br0", "up");
        int i = 0;
        for (Map.Entry<String, String> h : HOSTS.entrySet()) {
            String ns = ns(h.getKey());
            Netns.add(ns);
            made.add(ns);
            state.setProperty("namespaces", String.join(",", made));
            saveState(state);
            String port = "p" + i++;
            Netns.veth(ns, "eth0", h.getValue() + "/24", SWITCH, port, null);
            Netns.exec(SWITCH, "ip", "link", "set", port, "master", "br0");
        }
        // No VIP on the directors here: their VRRP instances add it on the master (dir1, priority 150) and move it
        // to dir2 when dir1 fails. Both hold the same tables at all times, so a takeover remaps no flow.
        for (String proxy : List.of("proxy1", "proxy2", "proxy3")) {
            // A DR real server: the VIP on lo, and never answer or announce ARP for it.
            Netns.exec(ns(proxy), "ip", "addr", "add", VIP + "/32", "dev", "lo");
            Netns.exec(ns(proxy), "sysctl", "-qw", "net.ipv4.conf.all.arp_ignore=1", "net.ipv4.conf.eth0.arp_ignore=1",
                    "net.ipv4.conf.all.arp_announce=2", "net.ipv4.conf.eth0.arp_announce=2");
        }
    }

    private void startProcesses(String dataplane, Properties state) throws IOException {
        List<String> pids = new ArrayList<>();
        for (String o : List.of("origin1", "origin2")) {
            pids.add(start(o, argsFor(o)));
        }
        for (String p : List.of("proxy1", "proxy2", "proxy3")) {
            Path cfg = stateDir.resolve(p + ".yaml");
            Files.writeString(cfg, proxyConfig.apply(p));
            pids.add(start(p, argsFor(p)));
        }
        for (String d : List.of("dir1", "dir2")) {
            Path cfg = stateDir.resolve(d + ".yaml");
            Files.writeString(cfg, LabConfigs.director(d, dataplane));
            pids.add(start(d, argsFor(d)));
        }
        state.setProperty("pids", String.join(",", pids));
        saveState(state);
    }

    /** The command line the lab runs on {@code host} (origins, proxies, directors). */
    private List<String> argsFor(String host) {
        if (host.startsWith("origin")) {
            return List.of("origin", "--name", host, "--listen", "0.0.0.0:8080");
        }
        List<String> args = new ArrayList<>(List.of(host.startsWith("proxy") ? "proxy" : "director", "-c",
                stateDir.resolve(host + ".yaml").toString()));
        if (host.startsWith("proxy")) {
            args.addAll(proxyOptions);
        }
        return args;
    }

    /** The PID of the process the lab runs on {@code host}, or -1. */
    public long pid(String host) {
        for (String entry : loadState().getProperty("pids", "").split(",")) {
            if (entry.startsWith(host + ":")) {
                return Long.parseLong(entry.substring(host.length() + 1));
            }
        }
        return -1;
    }

    /** SIGKILL, like a crashed node. */
    public void kill(String host) {
        ProcessHandle.of(pid(host)).ifPresent(ProcessHandle::destroyForcibly);
    }

    /** SIGTERM, a clean stop (the proxy finishes in-flight requests); waits up to {@code timeout}. */
    public void stop(String host, Duration timeout) throws InterruptedException {
        stop(pid(host), timeout);
    }

    /** SIGTERM to {@code pid}, then SIGKILL if it is still there after {@code timeout}. */
    static void stop(long pid, Duration timeout) throws InterruptedException {
        Optional<ProcessHandle> h = ProcessHandle.of(pid);
        if (h.isPresent()) {
            h.get().destroy();
            try {
                h.get().onExit().get(timeout.toMillis(), TimeUnit.MILLISECONDS);
            } catch (ExecutionException | TimeoutException e) {
                h.get().destroyForcibly();
            }
        }
    }

    /** Starts {@code host}'s process again (after kill or stop) and records its new PID. */
    public void restart(String host) throws IOException {
        Properties state = loadState();
        replacePid(state, host, start(host, argsFor(host)));
        saveState(state);
    }

    /** Records {@code entry} ({@code host:pid}) in place of {@code host}'s old PID. */
    static void replacePid(Properties state, String host, String entry) {
        List<String> pids = new ArrayList<>();
        for (String e : state.getProperty("pids", "").split(",")) {
            if (!e.isEmpty() && !e.startsWith(host + ":")) {
                pids.add(e);
            }
        }
        pids.add(entry);
        state.setProperty("pids", String.join(",", pids));
    }

    private String start(String host, List<String> args) throws IOException {
        List<String> cmd = new ArrayList<>(List.of(java, "-Xmx160m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
                "-jar", jar.toString()));
        cmd.addAll(args);
        Path log = stateDir.resolve(host + ".log");
        Process p = Netns.spawn(ns(host), log, cmd, true);
        return host + ":" + p.pid();
    }

    private void waitReady(Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        String last = "";
        while (System.nanoTime() < deadline) {
            Netns.Result r = Netns.runResult("ip", "netns", "exec", ns("client"), "curl", "-s", "-m", "1",
                    "-o", "/dev/null", "-w", "%{http_code}", "http://" + VIP + "/");
            last = r.output().trim();
            if (last.equals("200")) {
                return;
            }
            checkProcesses();
            Thread.sleep(250);
        }
        throw new IllegalStateException("the lab did not answer through http://" + VIP + "/ within "
                + timeout.toSeconds() + "s (last: " + last + "); logs are in " + stateDir);
    }

    private void checkProcesses() {
        checkProcesses(stateDir, loadState());
    }

    /** Throws, with the end of its log, when a process the lab started has exited. */
    static void checkProcesses(Path stateDir, Properties state) {
        for (String entry : state.getProperty("pids", "").split(",")) {
            if (entry.isEmpty()) {
                continue;
            }
            String[] hp = entry.split(":");
            if (ProcessHandle.of(Long.parseLong(hp[1])).map(ProcessHandle::isAlive).orElse(false)) {
                continue;
            }
            String log;
            try {
                List<String> lines = Files.readAllLines(stateDir.resolve(hp[0] + ".log"));
                log = String.join("\n", lines.subList(Math.max(0, lines.size() - 15), lines.size()));
            } catch (IOException e) {
                log = "(no log)";
            }
            throw new IllegalStateException(hp[0] + " exited during start-up; its log ends with:\n" + log);
        }
    }

    /** One status line for a lab host: name, address, namespace present, process state. */
    static String hostLine(Path stateDir, String host, String address, boolean nsUp, Long pid) {
        String proc = pid == null ? "" : ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false)
                ? "running (pid " + pid + ")" : "EXITED (see " + stateDir.resolve(host + ".log") + ")";
        return String.format("%-8s %-14s %-12s %s", host, address, nsUp ? "up" : "MISSING", proc);
    }

    /** Stops every process the lab started and deletes every namespace it made. Safe to call twice. */
    public void down() {
        Properties state = loadState();
        for (String entry : state.getProperty("pids", "").split(",")) {
            if (!entry.isEmpty()) {
                ProcessHandle.of(Long.parseLong(entry.split(":")[1])).ifPresent(ProcessHandle::destroyForcibly);
            }
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

    /** One line per host: namespace, address, process state; then a request through the VIP. */
    public List<String> status() {
        List<String> out = new ArrayList<>();
        Properties state = loadState();
        Map<String, Long> pids = new LinkedHashMap<>();
        for (String entry : state.getProperty("pids", "").split(",")) {
            if (!entry.isEmpty()) {
                pids.put(entry.split(":")[0], Long.parseLong(entry.split(":")[1]));
            }
        }
        List<String> existing = Netns.list();
        for (Map.Entry<String, String> h : HOSTS.entrySet()) {
            out.add(hostLine(stateDir, h.getKey(), h.getValue(), existing.contains(ns(h.getKey())), pids.get(h.getKey())));
        }
        Netns.Result r = Netns.runResult("ip", "netns", "exec", ns("client"), "curl", "-s", "-m", "2", "-D", "-",
                "-o", "/dev/null", "http://" + VIP + "/");
        String who = r.output().lines().filter(l -> l.toLowerCase().startsWith("x-tiergate"))
                .map(String::trim).reduce((a, b) -> a + ", " + b).orElse("");
        out.add("");
        out.add("client → http://" + VIP + "/ : " + (r.output().startsWith("HTTP/1.1 200") ? "200 OK " + who
                : "FAILED " + r.output().lines().findFirst().orElse("(no answer)")));
        return out;
    }

    private Properties loadState() {
        Properties p = new Properties();
        try (var in = Files.newBufferedReader(stateDir.resolve("state.properties"))) {
            p.load(in);
        } catch (IOException ignored) {
            // No state: nothing is up.
        }
        return p;
    }

    private void saveState(Properties p) throws IOException {
        try (var out = Files.newBufferedWriter(stateDir.resolve("state.properties"), StandardCharsets.UTF_8)) {
            p.store(out, "tiergate lab: what 'lab up' made; 'lab down' removes exactly this");
        }
    }
}
