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

/**
 * The scale-out lab ({@code tiergate lab up --directors N --bgp}): a client behind a router namespace that runs BIRD 2
 * with ECMP (L4 hash), N active directors that each announce the VIP over BGP with BFD, three proxy nodes as DR real
 * servers and two origins on one segment. Every director computes the same Maglev table, so the router may send a
 * flow to any of them.
 *
 * <pre>
 *  client 10.78.1.2 ── router 10.78.1.1 | 10.78.0.1 ── switch ── dir1..N 10.78.0.11..
 *                        (BIRD, ECMP)                       ├── proxy1..3 10.78.0.21..23 (VIP on lo)
 *                                                           └── origin1..2 10.78.0.31..32
 * </pre>
 *
 * Namespaces are named {@code PREFIX + host}; what was made is recorded in the state directory, and {@link #down()}
 * (or the HA lab's {@code down()}: both read the same state file, see {@link LabBase}) removes exactly that.
 */
public final class ScaleOutLab extends LabBase {
    public static final String SUBNET = "10.78.0.";
    public static final String CLIENT_NET = "10.78.1.";
    /** The VIP is outside both segments: only BGP routes lead to it. */
    public static final String VIP = "10.78.100.100";
    public static final int VIP_PORT = 80;
    public static final String ROUTER = "router";
    public static final int ROUTER_AS = 65000;
    public static final int DIRECTOR_AS = 65010;
    public static final int MAX_DIRECTORS = 8;

    private final String prefix;
    private final int directors;

    public ScaleOutLab(String prefix, Path stateDir, Path jar, String java, int directors) {
        super(stateDir, jar, java);
        if (directors < 1 || directors > MAX_DIRECTORS) {
            throw new IllegalArgumentException("--directors " + directors + " (expected: 1.." + MAX_DIRECTORS + ")");
        }
        this.prefix = prefix;
        this.directors = directors;
    }

    /** Reads the director count and prefix of a scale-out lab that is up, from its state directory. */
    public static Optional<ScaleOutLab> running(Path stateDir, Path jar, String java) {
        Properties p = loadState(stateDir);
        if (!"scaleout".equals(p.getProperty("mode"))) {
            return Optional.empty();
        }
        return Optional.of(new ScaleOutLab(p.getProperty("prefix"), stateDir, jar, java,
                Integer.parseInt(p.getProperty("directors"))));
    }

    /** Host name → address on the server segment (the client's is on its own link to the router). */
    public Map<String, String> hosts() {
        Map<String, String> m = new LinkedHashMap<>();
        m.put("client", CLIENT_NET + "2");
        m.put(ROUTER, SUBNET + "1");
        for (int i = 1; i <= directors; i++) {
            m.put("dir" + i, SUBNET + (10 + i));
        }
        for (int i = 1; i <= 3; i++) {
            m.put("proxy" + i, SUBNET + (20 + i));
        }
        m.put("origin1", SUBNET + "31");
        m.put("origin2", SUBNET + "32");
        return m;
    }

    public List<String> directorNames() {
        List<String> out = new ArrayList<>();
        for (int i = 1; i <= directors; i++) {
            out.add("dir" + i);
        }
        return out;
    }

    public String ns(String host) {
        return prefix + host;
    }

    public Path stateDir() {
        return stateDir;
    }

    @Override
    String namespaceOf(String host) {
        return ns(host);
    }

    @Override
    void describe(Properties state) {
        state.setProperty("mode", "scaleout");
        state.setProperty("prefix", prefix);
        state.setProperty("directors", String.valueOf(directors));
    }

    private void addNs(Properties state, String host) throws IOException {
        String ns = ns(host);
        Netns.add(ns);
        String list = state.getProperty("namespaces", "");
        state.setProperty("namespaces", list.isEmpty() ? ns : list + "," + ns);
        saveState(state);
    }

    /** A veth pair made directly inside the two namespaces: no temporary name in the root namespace to collide on. */
    private static void link(String nsA, String ifA, String nsB, String ifB) {
        Netns.run("ip", "-n", nsA, "link", "add", ifA, "type", "veth", "peer", "name", ifB, "netns", nsB);
        Netns.run("ip", "-n", nsA, "link", "set", ifA, "up");
        Netns.run("ip", "-n", nsB, "link", "set", ifB, "up");
    }

    @Override
    void buildNetwork(Properties state) throws IOException {
        String sw = "sw";
        addNs(state, sw);
        Netns.exec(ns(sw), "ip", "link", "add", "br0", "type", "bridge");
        Netns.exec(ns(sw), "ip", "link", "set", "br0", "up");
        addNs(state, "client");
        addNs(state, ROUTER);
        link(ns("client"), "eth0", ns(ROUTER), "eth0");
        Netns.exec(ns("client"), "ip", "addr", "add", CLIENT_NET + "2/24", "dev", "eth0");
        Netns.exec(ns("client"), "ip", "route", "add", "default", "via", CLIENT_NET + "1");
        Netns.exec(ns(ROUTER), "ip", "addr", "add", CLIENT_NET + "1/24", "dev", "eth0");
        int port = 0;
        for (Map.Entry<String, String> h : hosts().entrySet()) {
            if (h.getKey().equals("client")) {
                continue;
            }
            if (!h.getKey().equals(ROUTER)) {
                addNs(state, h.getKey());
            }
            String dev = h.getKey().equals(ROUTER) ? "eth1" : "eth0";
            String p = "p" + port++;
            link(ns(h.getKey()), dev, ns(sw), p);
            Netns.exec(ns(sw), "ip", "link", "set", p, "master", "br0");
            Netns.exec(ns(h.getKey()), "ip", "addr", "add", h.getValue() + "/24", "dev", dev);
            if (!h.getKey().equals(ROUTER)) {
                Netns.exec(ns(h.getKey()), "ip", "route", "add", "default", "via", SUBNET + "1");
            }
        }
        // The router spreads flows over the directors by the L4 5-tuple, not just the addresses.
        Netns.exec(ns(ROUTER), "sysctl", "-qw", "net.ipv4.ip_forward=1", "net.ipv4.fib_multipath_hash_policy=1",
                "net.ipv4.conf.all.rp_filter=0", "net.ipv4.conf.default.rp_filter=0");
        for (String proxy : List.of("proxy1", "proxy2", "proxy3")) {
            // A DR real server: the VIP on lo, never answer or announce ARP for it; replies go straight to the router.
            Netns.exec(ns(proxy), "ip", "addr", "add", VIP + "/32", "dev", "lo");
            Netns.exec(ns(proxy), "sysctl", "-qw", "net.ipv4.conf.all.arp_ignore=1", "net.ipv4.conf.eth0.arp_ignore=1",
                    "net.ipv4.conf.all.arp_announce=2", "net.ipv4.conf.eth0.arp_announce=2");
        }
        for (String d : directorNames()) {
            // nft takes VIP packets at ingress; ipvs and userspace need the VIP as a local address.
            Netns.exec(ns(d), "ip", "addr", "add", VIP + "/32", "dev", "lo");
        }
    }

    /** The router's BIRD config: one BGP session with BFD per director, every route to the kernel as ECMP. */
    String routerBird() {
        StringBuilder sb = new StringBuilder();
        sb.append("""
                # tiergate lab: the upstream router. Every director announces the VIP; equal routes are merged into one
                # ECMP route (up to 16 next hops) and the kernel hashes flows over them by the L4 5-tuple.
                log stderr all;
                router id %1$s1;
                protocol device { scan time 10; }
                protocol kernel {
                  ipv4 { import none; export all; };
                  merge paths yes limit 16;
                }
                protocol bfd {
                  interface "eth1" { min rx interval 100 ms; min tx interval 100 ms; multiplier 3; };
                }
                template bgp director {
                  local %1$s1 as %2$d;
                  hold time 9; keepalive time 3;
                  connect retry time 2; error wait time 1, 10;
                  bfd on;
                  ipv4 { import all; export none; };
                }
                """.formatted(SUBNET, ROUTER_AS));
        for (String d : directorNames()) {
            sb.append("protocol bgp ").append(d).append(" from director { neighbor ").append(hosts().get(d))
                    .append(" as ").append(DIRECTOR_AS).append("; }\n");
        }
        return sb.toString();
    }

    String directorConfig(String name, String dataplane) {
        return """
                # tiergate lab (scale-out): %1$s, one of %8$d active directors. Each announces the VIP to the router over
                # BGP while it can serve it; all share hash_seed and real servers, so all compute the same Maglev
                # table and any of them can take any flow.
                director:
                  dataplane: %2$s
                  interface: eth0
                  hash_seed: 1952804199
                  admin: 127.0.0.1:9180
                  bgp:
                    local_as: %9$d
                    router_id: %3$s
                    neighbors: [{address: %10$s1, remote_as: %11$d}]
                    hold_time: 9s
                    bfd: {interval: 100ms, multiplier: 3}
                    convergence_delay: 1s
                    bird: {runtime_dir: %12$s}
                  services:
                    web:
                      vip: %4$s:%5$d
                      scheduler: mh
                      method: dr
                      # weight0, not remove: a director that loses sight of a real server keeps its own pinned
                      # flows on it (DR packets do not take the path the checks failed on); new flows avoid it.
                      on_failure: weight0
                      health: {type: tcp, interval: 100ms, timeout: 100ms, rise: 2, fall: 2}
                      real_servers: [%6$s:80, %7$s:80, %13$s:80]
                """.formatted(name, dataplane, hosts().get(name), VIP, VIP_PORT, hosts().get("proxy1"),
                hosts().get("proxy2"), directors, DIRECTOR_AS, SUBNET, ROUTER_AS,
                stateDir.resolve(name + "-bird"), hosts().get("proxy3"));
    }

    private String proxyConfig(String name) {
        return LabConfigs.proxy(name, hosts().get("origin1"), hosts().get("origin2"));
    }

    @Override
    void startProcesses(String dataplane, Properties state) throws IOException {
        Path routerConf = stateDir.resolve("router-bird.conf");
        Files.writeString(routerConf, routerBird());
        List<String> pids = new ArrayList<>();
        // SCHED_FIFO like the directors' BIRD: BFD at 100 ms x 3 must not flap because the JVMs load the CPU.
        Process bird = Netns.spawn(ns(ROUTER), stateDir.resolve("router.log"), List.of("chrt", "-f", "10", "bird", "-f", "-c",
                routerConf.toString(), "-s", stateDir.resolve("router-bird.ctl").toString(), "-P",
                stateDir.resolve("router-bird.pid").toString()));
        pids.add(ROUTER + ":" + bird.pid());
        state.setProperty("pids", String.join(",", pids));
        saveState(state);
        for (String o : List.of("origin1", "origin2")) {
            pids.add(o + ":" + spawn(o, List.of("origin", "--name", o, "--listen", "0.0.0.0:8080")).pid());
        }
        for (String p : List.of("proxy1", "proxy2", "proxy3")) {
            Files.writeString(stateDir.resolve(p + ".yaml"), proxyConfig(p));
            pids.add(p + ":" + spawn(p, List.of("proxy", "-c", stateDir.resolve(p + ".yaml").toString())).pid());
        }
        for (String d : directorNames()) {
            Files.writeString(stateDir.resolve(d + ".yaml"), directorConfig(d, dataplane));
            pids.add(d + ":" + spawn(d, directorArgs(d)).pid());
        }
        state.setProperty("pids", String.join(",", pids));
        saveState(state);
    }

    private List<String> directorArgs(String d) {
        return List.of("director", "-c", stateDir.resolve(d + ".yaml").toString());
    }

    /** The router's next hops for the VIP (the directors it sends new flows to now). */
    public List<String> nextHops() {
        Netns.Result r = Netns.runResult("ip", "-n", ns(ROUTER), "route", "show", VIP + "/32");
        List<String> out = new ArrayList<>();
        for (String word : r.output().split("\\s+")) {
            if (word.startsWith(SUBNET)) {
                out.add(word);
            }
        }
        return out;
    }

    @Override
    void waitReady(Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        String last = "";
        while (System.nanoTime() < deadline) {
            if (nextHops().size() == directors) {
                Netns.Result r = Netns.runResult("ip", "netns", "exec", ns("client"), "curl", "-s", "-m", "1",
                        "-o", "/dev/null", "-w", "%{http_code}", "http://" + VIP + "/");
                last = r.output().trim();
                if (last.equals("200")) {
                    return;
                }
            } else {
                last = "router has next hops " + nextHops() + " of " + directors;
            }
            checkProcesses();
            Thread.sleep(250);
        }
        throw new IllegalStateException("the scale-out lab did not answer through http://" + VIP + "/ via all "
                + directors + " directors within " + timeout.toSeconds() + "s (last: " + last + "); logs are in " + stateDir);
    }

    /** Starts a director (or proxy/origin) again and records its new PID. */
    public void restart(String host) throws IOException {
        List<String> args = host.startsWith("dir") ? directorArgs(host)
                : host.startsWith("proxy") ? List.of("proxy", "-c", stateDir.resolve(host + ".yaml").toString())
                : List.of("origin", "--name", host, "--listen", "0.0.0.0:8080");
        respawn(host, args);
    }

    /** One line per host, the router's next hops for the VIP, and a request through it. */
    public List<String> status() {
        List<String> out = new ArrayList<>(hostLines(hosts()));
        out.add("");
        out.add("router → " + VIP + ": ECMP over " + nextHops());
        Netns.Result r = Netns.runResult("ip", "netns", "exec", ns("client"), "curl", "-s", "-m", "2", "-D", "-",
                "-o", "/dev/null", "http://" + VIP + "/");
        out.add("client → http://" + VIP + "/ : " + (r.output().startsWith("HTTP/1.1 200") ? "200 OK" : "FAILED "
                + r.output().lines().findFirst().orElse("(no answer)")));
        return out;
    }
}
