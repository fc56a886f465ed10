package io.tiergate.director.ha;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;

/**
 * A throw-away L2 segment: a bridge in its own namespace and one namespace per host, each with {@code eth0} on
 * the bridge and {@code 10.88.0.N/24} (N = 1, 2, ... in order). Namespace names carry a per-lab random prefix; close()
 * kills every process this lab started, by PID, and deletes exactly its namespaces.
 */
final class VrrpLab implements AutoCloseable {
    static final String VIP = "10.88.0.100";
    static final int VRID = 42;

    final String prefix;
    final Path dir;
    private final List<String> namespaces = new ArrayList<>();
    private final List<String> hosts = new ArrayList<>();
    private final List<Process> processes = new ArrayList<>();
    private final List<Long> extraPids = new ArrayList<>();
    private Process switchShell;
    private OutputStream switchIn;

    /** Why namespace tests cannot run here, or null when they can. */
    static String skipReason(String... tools) {
        if (!"root".equals(System.getProperty("user.name"))) {
            return "VRRP namespace tests need root (ip netns, raw sockets)";
        }
        List<String> need = new ArrayList<>(List.of("ip", "tcpdump", "java"));
        need.addAll(List.of(tools));
        for (String t : need) {
            if (!onPath(t)) {
                return "VRRP namespace tests need '" + t + "' on PATH";
            }
        }
        return null;
    }

    private static boolean onPath(String tool) {
        for (String d : System.getenv().getOrDefault("PATH", "/usr/sbin:/usr/bin:/sbin:/bin").split(":")) {
            if (Files.isExecutable(Path.of(d, tool))) {
                return true;
            }
        }
        return Files.isExecutable(Path.of("/usr/sbin", tool)) || Files.isExecutable(Path.of("/sbin", tool));
    }

    VrrpLab(String... hostNames) throws Exception {
        this("tgv", List.of(hostNames));
    }

    /** With a namespace prefix of the test class's own ({@code base} + random). */
    static VrrpLab withPrefix(String base, String... hostNames) throws Exception {
        return new VrrpLab(base, List.of(hostNames));
    }

    private VrrpLab(String base, List<String> hostNames) throws Exception {
        prefix = base + HexFormat.of().toHexDigits(ThreadLocalRandom.current().nextInt()).substring(0, 5);
        // Logs and configs under target/ so a failure can be read afterwards and `mvn clean` removes them.
        dir = Files.createDirectories(Path.of("target", "vrrp-lab", prefix).toAbsolutePath());
        try {
            String sw = ns("sw");
            addNamespace(sw);
            run("ip", "-n", sw, "link", "add", "br0", "type", "bridge");
            run("ip", "-n", sw, "link", "set", "br0", "up");
            int n = 1;
            for (String h : hostNames) {
                String hn = ns(h);
                addNamespace(hn);
                hosts.add(h);
                run("ip", "netns", "exec", hn, "sysctl", "-qw", "net.ipv4.ip_forward=0");
                run("ip", "-n", hn, "link", "set", "lo", "up");
                run("ip", "link", "add", "eth0", "netns", hn, "type", "veth", "peer", "name", "p" + h, "netns", sw);
                run("ip", "-n", sw, "link", "set", "p" + h, "master", "br0", "up");
                run("ip", "-n", hn, "addr", "add", "10.88.0." + n++ + "/24", "dev", "eth0");
                run("ip", "-n", hn, "link", "set", "eth0", "up");
            }
            // A shell already running in the switch namespace: starting `ip` under load took up to 640 ms.
            switchShell = start(List.of("ip", "-n", sw, "-force", "-batch", "-"), dir.resolve("switch.log"));
            switchIn = switchShell.getOutputStream();
        } catch (Exception e) {
            close();
            throw e;
        }
    }

    /** Nanoseconds as milliseconds, for printed measurements. */
    static double ms(long nanos) {
        return nanos / 1e6;
    }

    String ns(String host) {
        return prefix + host;
    }

    String address(String host) {
        return "10.88.0." + (hosts.indexOf(host) + 1);
    }

    private void addNamespace(String name) throws Exception {
        run("ip", "netns", "add", name);
        namespaces.add(name);
    }

    String mac(String host) throws Exception {
        String out = run("ip", "-n", ns(host), "-br", "link", "show", "eth0");
        return out.trim().split("\\s+")[2].toLowerCase(Locale.ROOT);
    }

    boolean hasVip(String host) throws Exception {
        return hasAddress(host, VIP);
    }

    /**
     * Whether the host's VIP presence becomes {@code present} within {@code within}: a role change is reported
     * when the address command is handed to {@code ip -batch}, the kernel has it a moment later.
     */
    boolean settlesVip(String host, boolean present, Duration within) throws Exception {
        long end = System.nanoTime() + within.toNanos();
        while (hasVip(host) != present) {
            if (System.nanoTime() > end) {
                return false;
            }
            Thread.sleep(10);
        }
        return true;
    }

    boolean hasAddress(String host, String address) throws Exception {
        return run("ip", "-n", ns(host), "-br", "addr", "show", "eth0").contains(address + "/");
    }

    /** Takes the host's switch port down or up through the already-running shell; returns System.nanoTime() of the write. */
    long link(String host, boolean up) throws IOException {
        byte[] cmd = ("link set p" + host + (up ? " up" : " down") + "\n").getBytes(StandardCharsets.US_ASCII);
        long t = System.nanoTime();
        switchIn.write(cmd);
        switchIn.flush();
        return t;
    }

    static String run(String... cmd) throws Exception {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(20, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new IllegalStateException("timed out: " + String.join(" ", cmd));
        }
        if (p.exitValue() != 0) {
            throw new IllegalStateException(String.join(" ", cmd) + " exited " + p.exitValue() + ": " + out);
        }
        return out;
    }

    private Process start(List<String> cmd, Path log) throws IOException {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile()).start();
        processes.add(p);
        return p;
    }

    private Process startPiped(List<String> cmd) throws IOException {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        processes.add(p);
        return p;
    }

    // ---- Tiergate VRRP -------------------------------------------------------------------------------------

    /** A {@link VrrpStandalone} JVM in a host namespace; its role changes arrive in {@link #states}. */
    final class Speaker {
        final String host;
        final Process process;
        final BlockingQueue<String> states = new LinkedBlockingQueue<>();
        final BlockingQueue<String> status = new LinkedBlockingQueue<>();
        final BlockingQueue<String> reloaded = new LinkedBlockingQueue<>();
        final List<String> output = new java.util.concurrent.CopyOnWriteArrayList<>();
        final PrintWriter stdin;
        final Path config;
        volatile String last = "";

        Speaker(String host, Process process, Path config) {
            this.host = host;
            this.process = process;
            this.config = config;
            this.stdin = new PrintWriter(process.getOutputStream(), true, StandardCharsets.UTF_8);
            Path log = dir.resolve(host + "-" + process.pid() + ".log");
            Thread t = new Thread(() -> {
                try (BufferedReader r = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8));
                     PrintWriter w = new PrintWriter(Files.newBufferedWriter(log), true)) {
                    for (String line; (line = r.readLine()) != null; ) {
                        w.println(line);
                        output.add(line);
                        if (line.equals("RELOADED")) {
                            reloaded.add(line);
                        }
                        if (line.startsWith("STATE ")) {
                            last = line.split(" ")[1];
                            states.add(last);
                        } else if (line.startsWith("STATUS ")) {
                            status.add(line);
                        }
                    }
                } catch (IOException ignored) {
                    // process gone
                }
            }, "lab-" + host);
            t.setDaemon(true);
            t.start();
        }

        /** Waits for the next role change to {@code state}, skipping others; fails with what it saw. */
        void awaitState(String state, Duration within) throws InterruptedException {
            long end = System.nanoTime() + within.toNanos();
            List<String> seen = new ArrayList<>();
            while (System.nanoTime() < end) {
                String s = states.poll(Math.max(1, end - System.nanoTime()), TimeUnit.NANOSECONDS);
                if (s == null) {
                    break;
                }
                seen.add(s);
                if (s.equals(state)) {
                    return;
                }
            }
            throw new AssertionError("expected Tiergate on " + host + " to become " + state + " within "
                    + within.toMillis() + " ms; saw " + seen + " (log in " + dir + ")");
        }

        /** Asks for a STATUS line and returns it. */
        String status() throws InterruptedException {
            stdin.println("status");
            String s = status.poll(5, TimeUnit.SECONDS);
            if (s == null) {
                throw new AssertionError("Tiergate on " + host + " printed no status within 5 s");
            }
            return s;
        }

        /** Rewrites its config file with {@code yaml} and has it re-read (as SIGHUP does for the director). */
        void reload(String yaml) throws Exception {
            Files.writeString(config, yaml);
            stdin.println("reload");
            if (reloaded.poll(10, TimeUnit.SECONDS) == null) {
                throw new AssertionError("Tiergate on " + host + " did not confirm the reload within 10 s (log in "
                        + dir + ")");
            }
        }

        boolean logged(String text) {
            return output.stream().anyMatch(l -> l.contains(text));
        }

        long countLogged(String text) {
            return output.stream().filter(l -> l.contains(text)).count();
        }

        /** Waits until a line containing {@code text} appears; returns System.nanoTime() when it was seen. */
        long awaitLogged(String text, Duration within) throws InterruptedException {
            long end = System.nanoTime() + within.toNanos();
            while (System.nanoTime() < end) {
                if (logged(text)) {
                    return System.nanoTime();
                }
                Thread.sleep(10);
            }
            throw new AssertionError("expected Tiergate on " + host + " to log '" + text + "' within "
                    + within.toMillis() + " ms (log in " + dir + ")");
        }

        /** The value of a VRRP meter from its {@code metrics} command, e.g. ("..._total", "cause=\"vrid\""). */
        double metric(String name, String label) throws InterruptedException {
            int from = output.size();
            stdin.println("metrics");
            long end = System.nanoTime() + Duration.ofSeconds(5).toNanos();
            while (System.nanoTime() < end) {
                List<String> all = new ArrayList<>(output);
                List<String> lines = all.subList(from, all.size());
                if (lines.contains("METRICS END")) {
                    for (String l : lines) {
                        if (l.startsWith("METRIC " + name + "{") && l.contains(label)) {
                            return Double.parseDouble(l.substring(l.lastIndexOf(' ') + 1));
                        }
                    }
                    throw new AssertionError("no metric " + name + " with " + label + " in " + lines);
                }
                Thread.sleep(10);
            }
            throw new AssertionError("Tiergate on " + host + " printed no metrics within 5 s");
        }

        /** SIGKILL; returns System.nanoTime() just before the signal. */
        long kill() throws InterruptedException {
            long t = System.nanoTime();
            process.toHandle().destroyForcibly();
            process.waitFor(5, TimeUnit.SECONDS);
            return t;
        }

        /** SIGTERM (a clean stop); returns System.nanoTime() just before the signal. */
        long terminate() {
            long t = System.nanoTime();
            process.toHandle().destroy(); // Process.destroy() would also close our end of its stdout
            return t;
        }
    }

    /**
     * Waits until {@code master} is MASTER and {@code backup} BACKUP and both have stayed so for 300 ms (JVMs start
     * at different speeds, so the lower priority may be master for a moment before being preempted), then
     * forgets the history so later assertions see only what happens next.
     */
    static void awaitElection(Speaker master, Speaker backup, Duration within) throws InterruptedException {
        long end = System.nanoTime() + within.toNanos();
        long stableSince = -1;
        while (System.nanoTime() < end) {
            boolean ok = master.last.equals("MASTER") && backup.last.equals("BACKUP");
            long now = System.nanoTime();
            if (!ok) {
                stableSince = -1;
            } else if (stableSince < 0) {
                stableSince = now;
            } else if (now - stableSince > 300_000_000L) {
                master.states.clear();
                backup.states.clear();
                return;
            }
            Thread.sleep(10);
        }
        throw new AssertionError("expected " + master.host + " MASTER and " + backup.host + " BACKUP within "
                + within.toMillis() + " ms; they are " + master.last + " and " + backup.last);
    }

    /** A {@code director.vrrp} section on eth0 with 50 ms adverts; {@code vips} as in YAML, e.g. "10.88.0.100/24". */
    static String yaml(int vrid, int priority, String vips, String extraYaml) {
        return yaml(vrid, priority, "50ms", vips, extraYaml);
    }

    static String yaml(int vrid, int priority, String advert, String vips, String extraYaml) {
        return "director:\n  vrrp:\n    interface: eth0\n    vrid: " + vrid + "\n    priority: " + priority
                + "\n    advert_interval: " + advert + "\n    virtual_addresses: [" + vips + "]\n" + extraYaml.indent(4);
    }

    Speaker tiergate(String host, int priority, String extraYaml) throws IOException {
        return tiergate(host, priority, "50ms", extraYaml);
    }

    Speaker tiergate(String host, int priority, String advert, String extraYaml) throws IOException {
        return tiergateWith(host, host + "-" + priority + ".yaml", yaml(VRID, priority, advert, VIP + "/24", extraYaml));
    }

    /** A {@link VrrpStandalone} with a config of the caller's ({@code name}: its file under {@link #dir}). */
    Speaker tiergateWith(String host, String name, String yaml) throws IOException {
        Path file = dir.resolve(name);
        Files.writeString(file, yaml);
        List<String> cmd = List.of("ip", "netns", "exec", ns(host), javaBin(), "-Xmx64m", "-XX:+UseSerialGC",
                "-XX:TieredStopAtLevel=1", "-Dorg.slf4j.simpleLogger.defaultLogLevel=info",
                "-cp", System.getProperty("java.class.path"), VrrpStandalone.class.getName(), file.toString());
        return new Speaker(host, startPiped(cmd), file);
    }

    private static String javaBin() {
        return Path.of(System.getProperty("java.home"), "bin", "java").toString();
    }

    // ---- keepalived ---------------------------------------------------------------------------------------

    final class Keepalived {
        final String host;
        final Process parent;
        final Path log;
        final Path vrrpPid;

        Keepalived(String host, Process parent, Path log, Path vrrpPid) {
            this.host = host;
            this.parent = parent;
            this.log = log;
            this.vrrpPid = vrrpPid;
        }

        boolean logContains(String text) throws IOException {
            return Files.exists(log) && Files.readString(log).contains(text);
        }

        void awaitLog(String text, Duration within) throws Exception {
            long end = System.nanoTime() + within.toNanos();
            while (System.nanoTime() < end) {
                if (logContains(text)) {
                    return;
                }
                Thread.sleep(20);
            }
            throw new AssertionError("expected keepalived on " + host + " to log '" + text + "' within "
                    + within.toMillis() + " ms; log:\n" + (Files.exists(log) ? Files.readString(log) : "(none)"));
        }

        long childPid(Duration within) throws Exception {
            long end = System.nanoTime() + within.toNanos();
            while (System.nanoTime() < end) {
                if (Files.exists(vrrpPid)) {
                    String s = Files.readString(vrrpPid).trim();
                    if (!s.isEmpty()) {
                        return Long.parseLong(s);
                    }
                }
                Thread.sleep(20);
            }
            throw new AssertionError("keepalived on " + host + " wrote no VRRP child pid file " + vrrpPid);
        }

        /**
         * A crash: SIGSTOP the parent (else it restarts the child or stops cleanly with priority 0), SIGKILL the
         * VRRP child, then the parent. Returns System.nanoTime() just before the child's SIGKILL.
         */
        long crash() throws Exception {
            long child = childPid(Duration.ofSeconds(5));
            extraPids.add(child);
            run("kill", "-STOP", Long.toString(parent.pid()));
            long t = System.nanoTime();
            ProcessHandle.of(child).ifPresent(ProcessHandle::destroyForcibly);
            parent.destroyForcibly(); // SIGKILL works on a stopped process
            parent.waitFor(5, TimeUnit.SECONDS);
            return t;
        }
    }

    Keepalived keepalived(String host, int priority, double advertSeconds, boolean nopreempt) throws IOException {
        return keepalived(host, VRID, 3, priority, advertSeconds, nopreempt ? "nopreempt" : "");
    }

    /** keepalived with its own VRID and VRRP version; {@code extra} goes into the vrrp_instance block. */
    Keepalived keepalived(String host, int vrid, int version, int priority, double advertSeconds, String extra)
            throws IOException {
        String conf = """
                global_defs {
                  router_id %s
                  vrrp_version %d
                }
                vrrp_instance VI_1 {
                  state BACKUP
                  interface eth0
                  virtual_router_id %d
                  priority %d
                  advert_int %s
                  %s
                  virtual_ipaddress {
                    %s/24
                  }
                }
                """.formatted(ns(host), version, vrid, priority,
                version == 2 ? Long.toString(Math.round(advertSeconds)) : Double.toString(advertSeconds), extra, VIP);
        return keepalivedWith(host, conf);
    }

    /** keepalived (VRRP only) in a host's namespace with a keepalived.conf of the caller's. */
    Keepalived keepalivedWith(String host, String conf) throws IOException {
        Path file = dir.resolve("keepalived-" + host + ".conf");
        Files.writeString(file, conf);
        Path log = dir.resolve("keepalived-" + host + ".log");
        Path vrrpPid = dir.resolve("keepalived-" + host + ".vrrp.pid");
        List<String> cmd = List.of("ip", "netns", "exec", ns(host), "keepalived", "-n", "-l", "-P", "-f", file.toString(),
                "-p", dir.resolve("keepalived-" + host + ".pid").toString(), "-r", vrrpPid.toString(),
                "-c", dir.resolve("keepalived-" + host + ".chk.pid").toString());
        return new Keepalived(host, start(cmd, log), log, vrrpPid);
    }

    // ---- the client's view --------------------------------------------------------------------------------

    /**
     * tcpdump in a host's namespace; every captured line, stamped with the kernel's capture time converted to the
     * System.nanoTime() domain — not the time this JVM read the line, which on a loaded machine can be hundreds of
     * milliseconds later and would move every measured interval.
     */
    final class ArpWatch {
        record Line(long nanos, String text) {
        }

        final BlockingQueue<Line> lines = new LinkedBlockingQueue<>();

        ArpWatch(Process p) throws Exception {
            BlockingQueue<String> ready = new LinkedBlockingQueue<>();
            Thread t = new Thread(() -> {
                try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
                    for (String line; (line = r.readLine()) != null; ) {
                        if (line.contains("listening on")) {
                            ready.add(line);
                        } else {
                            lines.add(captured(line));
                        }
                    }
                } catch (IOException ignored) {
                    // tcpdump gone
                }
            }, "lab-tcpdump");
            t.setDaemon(true);
            t.start();
            if (ready.poll(15, TimeUnit.SECONDS) == null) {
                throw new IllegalStateException("tcpdump did not start listening within 15 s");
            }
        }

        /** "1796425381.123456789 aa:bb:… > …": the capture time in nanoTime, and the text after it. */
        private static Line captured(String line) {
            long now = System.nanoTime();
            int sp = line.indexOf(' ');
            String stamp = sp > 0 ? line.substring(0, sp) : "";
            if (!stamp.matches("\\d+\\.\\d{9}")) {
                return new Line(now, line);
            }
            int dot = stamp.indexOf('.');
            long epochNanos = Long.parseLong(stamp.substring(0, dot)) * 1_000_000_000L + Long.parseLong(stamp.substring(dot + 1));
            java.time.Instant wall = java.time.Instant.now();
            long wallNanos = wall.getEpochSecond() * 1_000_000_000L + wall.getNano();
            // Read just now: the line is (wallNanos - epochNanos) old; never later than now.
            return new Line(now - Math.max(0, wallNanos - epochNanos), line.substring(sp + 1));
        }

        /** The first ARP line from {@code mac} about the VIP seen after {@code since}; its time in nanoTime. */
        long firstFrom(String mac, long since, Duration within) throws InterruptedException {
            return firstFrom(mac, VIP, since, within);
        }

        /** The first ARP line from {@code mac} about {@code address} seen after {@code since}. */
        long firstFrom(String mac, String address, long since, Duration within) throws InterruptedException {
            return first(l -> l.nanos() >= since && l.text().toLowerCase(Locale.ROOT).startsWith(mac)
                    && l.text().matches(".*\\b" + address.replace(".", "\\.") + "\\b.*"), within,
                    "an ARP for " + address + " from " + mac);
        }

        /** nanoTimes of every ARP from {@code mac} about the VIP seen during the next {@code window}. */
        List<Long> allFrom(String mac, Duration window) throws InterruptedException {
            List<Long> out = new ArrayList<>();
            long end = System.nanoTime() + window.toNanos();
            while (System.nanoTime() < end) {
                Line l = lines.poll(Math.max(1, end - System.nanoTime()), TimeUnit.NANOSECONDS);
                if (l != null && l.text().toLowerCase(Locale.ROOT).startsWith(mac)
                        && l.text().matches(".*\\b" + VIP.replace(".", "\\.") + "\\b.*")) {
                    out.add(l.nanos());
                }
            }
            return out;
        }

        private long first(Predicate<Line> p, Duration within, String what) throws InterruptedException {
            long end = System.nanoTime() + within.toNanos();
            while (System.nanoTime() < end) {
                Line l = lines.poll(Math.max(1, end - System.nanoTime()), TimeUnit.NANOSECONDS);
                if (l != null && p.test(l)) {
                    return l.nanos();
                }
            }
            throw new AssertionError("expected " + what + " within " + within.toMillis() + " ms");
        }
    }

    /** {@code ip monitor address} in a host's namespace: when the VIP was added and deleted there (nanoTime). */
    final class VipWatch {
        record Event(long nanos, boolean added) {
        }

        final String host;
        final BlockingQueue<Event> events = new LinkedBlockingQueue<>();
        final List<Event> all = new java.util.concurrent.CopyOnWriteArrayList<>();

        VipWatch(String host, Process p) {
            this.host = host;
            Thread t = new Thread(() -> {
                try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
                    for (String line; (line = r.readLine()) != null; ) {
                        if (line.contains(" " + VIP + "/")) {
                            Event e = new Event(System.nanoTime(), !line.startsWith("Deleted"));
                            events.add(e);
                            all.add(e);
                        }
                    }
                } catch (IOException ignored) {
                    // ip gone
                }
            }, "lab-ipmon-" + host);
            t.setDaemon(true);
            t.start();
        }

        /** The first event of that kind after {@code since}; its nanoTime. */
        long await(boolean added, long since, Duration within) throws InterruptedException {
            long end = System.nanoTime() + within.toNanos();
            for (Event e : all) {
                if (e.added() == added && e.nanos() >= since) {
                    return e.nanos();
                }
            }
            while (System.nanoTime() < end) {
                Event e = events.poll(Math.max(1, end - System.nanoTime()), TimeUnit.NANOSECONDS);
                if (e != null && e.added() == added && e.nanos() >= since) {
                    return e.nanos();
                }
            }
            throw new AssertionError("expected the VIP to be " + (added ? "added on " : "deleted from ") + host
                    + " within " + within.toMillis() + " ms");
        }
    }

    VipWatch watchVip(String host) throws Exception {
        Process p = startPiped(List.of("ip", "-n", ns(host), "monitor", "address"));
        Thread.sleep(300); // ip subscribes before printing anything; give it a moment
        return new VipWatch(host, p);
    }

    ArpWatch watchArp(String host) throws Exception {
        return watch(host, "arp");
    }

    /** tcpdump with a filter of the caller's, e.g. Neighbor Advertisements: {@code icmp6 and ip6[40] == 136}. */
    ArpWatch watch(String host, String filter) throws Exception {
        Process p = startPiped(List.of("ip", "netns", "exec", ns(host), "tcpdump", "-l", "-n", "-e", "-tt",
                "--time-stamp-precision=nano", "--immediate-mode", "-i", "eth0", filter));
        return new ArpWatch(p);
    }

    /** A process in a host's namespace that lives as long as the lab (killed by PID on close). */
    Process background(String host, String... cmd) throws IOException {
        List<String> all = new ArrayList<>(List.of("ip", "netns", "exec", ns(host)));
        all.addAll(List.of(cmd));
        return start(all, dir.resolve(host + "-bg-" + processes.size() + ".log"));
    }

    /** Runs {@code ip -n <host's namespace> args...}. */
    String ip(String host, String... args) throws Exception {
        List<String> all = new ArrayList<>(List.of("ip", "-n", ns(host)));
        all.addAll(List.of(args));
        return run(all.toArray(String[]::new));
    }

    String switchNamespace() {
        return ns("sw");
    }

    @Override
    public void close() {
        for (Process p : processes) {
            p.destroyForcibly();
        }
        for (Process p : processes) {
            try {
                p.waitFor(5, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        for (long pid : extraPids) {
            ProcessHandle.of(pid).ifPresent(ProcessHandle::destroyForcibly);
        }
        for (String n : namespaces) {
            try {
                run("ip", "netns", "del", n);
            } catch (Exception e) {
                System.err.println("could not delete namespace " + n + ": " + e.getMessage());
            }
        }
    }
}
