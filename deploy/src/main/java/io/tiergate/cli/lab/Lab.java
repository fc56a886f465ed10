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
public final class Lab extends LabBase {
    public static final String PREFIX = "tglab-";
    public static final String SUBNET = "10.77.0.";
    public static final String VIP = SUBNET + "100";
    public static final int VIP_PORT = 80;
    static final String SWITCH = PREFIX + "sw";

    /** Host name in the lab → its address. */
    public static final Map<String, String> HOSTS = hosts();

    /** Proxy node name → the config file the lab writes for it (tests may give their own, e.g. with TLS). */
    private java.util.function.Function<String, String> proxyConfig = LabConfigs::proxy;
    /** Extra command-line options of every proxy node (e.g. the systemd unit's {@code --watch-interval 0}). */
    private List<String> proxyOptions = List.of();

    public Lab(Path stateDir, Path jar, String java) {
        super(stateDir, jar, java);
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

    @Override
    String namespaceOf(String host) {
        return ns(host);
    }

    @Override
    void describe(Properties state) {
        // The HA lab is the default kind: no marker.
    }

    @Override
    void buildNetwork(Properties state) throws IOException {
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

    @Override
    void startProcesses(String dataplane, Properties state) throws IOException {
        List<String> pids = new ArrayList<>();
        for (String o : List.of("origin1", "origin2")) {
            pids.add(o + ":" + spawn(o, argsFor(o)).pid());
        }
        for (String p : List.of("proxy1", "proxy2", "proxy3")) {
            Path cfg = stateDir.resolve(p + ".yaml");
            Files.writeString(cfg, proxyConfig.apply(p));
            pids.add(p + ":" + spawn(p, argsFor(p)).pid());
        }
        for (String d : List.of("dir1", "dir2")) {
            Path cfg = stateDir.resolve(d + ".yaml");
            Files.writeString(cfg, LabConfigs.director(d, dataplane));
            pids.add(d + ":" + spawn(d, argsFor(d)).pid());
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

    /** Starts {@code host}'s process again (after kill or stop) and records its new PID. */
    public void restart(String host) throws IOException {
        respawn(host, argsFor(host));
    }

    @Override
    void waitReady(Duration timeout) throws InterruptedException {
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

    /** One line per host: namespace, address, process state; then a request through the VIP. */
    public List<String> status() {
        List<String> out = new ArrayList<>();
        out.addAll(hostLines(HOSTS));
        Netns.Result r = Netns.runResult("ip", "netns", "exec", ns("client"), "curl", "-s", "-m", "2", "-D", "-",
                "-o", "/dev/null", "http://" + VIP + "/");
        String who = r.output().lines().filter(l -> l.toLowerCase().startsWith("x-tiergate"))
                .map(String::trim).reduce((a, b) -> a + ", " + b).orElse("");
        out.add("");
        out.add("client → http://" + VIP + "/ : " + (r.output().startsWith("HTTP/1.1 200") ? "200 OK " + who
                : "FAILED " + r.output().lines().findFirst().orElse("(no answer)")));
        return out;
    }
}
