package io.tiergate.director.dataplane.nft;

import io.tiergate.shared.runtime.Runtimes;
import io.tiergate.director.Director;
import io.tiergate.director.config.DirectorConfig;
import io.tiergate.director.engine.ServiceStatus;
import io.tiergate.shared.config.ConfigMap;
import io.tiergate.shared.config.Problems;
import io.tiergate.shared.config.YamlLoader;
import io.vertx.core.Vertx;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.Timeout;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The real topology in network namespaces: client, director (nft dataplane via libnftables, programmed from the
 * engine thread moved into the director's namespace) and three real servers, each running a small HTTP server that
 * answers with its name and the client address it sees. Root only.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class NftNamespaceTest {
    static final String P = "tg" + Long.toHexString(System.nanoTime() & 0xfffff);
    static final String CLIENT = P + "c";
    static final String DIR = P + "d";
    static final String BR = "br0";
    /** The bridge lives in its own namespace: on hosts with br_netfilter and Docker's FORWARD DROP, a bridge in the
     * root namespace would have its frames dropped by the host's iptables. */
    static final String SW = P + "sw";
    static final String VIP = "10.77.0.100";
    static final String[] RS = {P + "r1", P + "r2", P + "r3"};
    static final String[] RS_IP = {"10.77.0.11", "10.77.0.12", "10.77.0.13"};
    static final List<Process> servers = new ArrayList<>();
    static Path work;
    static Vertx vertx;
    static Director director;
    static boolean ready;

    static String sh(String script) throws Exception {
        Process p = new ProcessBuilder("bash", "-c", script).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(30, TimeUnit.SECONDS) || p.exitValue() != 0) {
            throw new IllegalStateException("failed: " + script + "\n" + out);
        }
        return out;
    }

    static boolean has(String cmd) {
        try {
            return new ProcessBuilder("bash", "-c", "command -v " + cmd).start().waitFor() == 0;
        } catch (Exception e) {
            return false;
        }
    }

    @BeforeAll
    static void topology() throws Exception {
        boolean root = Files.readAllLines(Path.of("/proc/self/status")).stream()
                .anyMatch(l -> l.startsWith("Uid:") && l.split("\\s+")[2].equals("0"));
        Assumptions.assumeTrue(root && has("ip") && has("nft") && has("python3")
                && NftDataplane.unavailableReason().isEmpty(),
                "skipped: needs root, ip, nft, python3 and libnftables.so.1 (namespace test of the nft dataplane)");
        work = Files.createTempDirectory(P);
        StringBuilder s = new StringBuilder("set -e\n");
        s.append("ip netns add ").append(SW).append('\n');
        s.append("ip -n ").append(SW).append(" link add ").append(BR).append(" type bridge\n");
        s.append("ip -n ").append(SW).append(" link set ").append(BR).append(" up\n");
        // Health checks run in the test JVM's namespace: give it a leg on the bridge.
        s.append("ip link add ").append(P).append("h type veth peer name host0 netns ").append(SW).append('\n');
        s.append("ip -n ").append(SW).append(" link set host0 master ").append(BR).append(" up\n");
        s.append("ip addr add 10.77.0.254/24 dev ").append(P).append("h\nip link set ").append(P).append("h up\n");
        String[] all = {CLIENT, DIR, RS[0], RS[1], RS[2]};
        for (String ns : all) {
            s.append("ip netns add ").append(ns).append('\n');
            s.append("ip -n ").append(SW).append(" link add ").append(ns).append("0 type veth peer name eth0 netns ")
                    .append(ns).append('\n');
            s.append("ip -n ").append(SW).append(" link set ").append(ns).append("0 master ").append(BR).append(" up\n");
            s.append("ip -n ").append(ns).append(" link set lo up\nip -n ").append(ns).append(" link set eth0 up\n");
            s.append("ip netns exec ").append(ns).append(" sysctl -qw net.ipv4.ip_forward=0\n");
        }
        s.append("ip -n ").append(CLIENT).append(" addr add 10.78.0.2/24 dev eth0\n");
        s.append("ip -n ").append(CLIENT).append(" route add 10.77.0.0/24 dev eth0\n");
        s.append("ip -n ").append(DIR).append(" addr add 10.77.0.3/24 dev eth0\n");
        s.append("ip -n ").append(DIR).append(" addr add ").append(VIP).append("/32 dev eth0\n");
        s.append("ip -n ").append(DIR).append(" route add 10.78.0.0/24 dev eth0\n");
        for (int i = 0; i < 3; i++) {
            s.append("ip -n ").append(RS[i]).append(" addr add ").append(RS_IP[i]).append("/24 dev eth0\n");
            s.append("ip -n ").append(RS[i]).append(" addr add ").append(VIP).append("/32 dev lo\n");
            for (String dev : new String[] {"all", "eth0"}) {
                s.append("ip netns exec ").append(RS[i]).append(" sysctl -qw net.ipv4.conf.").append(dev)
                        .append(".arp_ignore=1 net.ipv4.conf.").append(dev).append(".arp_announce=2\n");
            }
            s.append("ip -n ").append(RS[i]).append(" route add 10.78.0.0/24 dev eth0\n");
        }
        sh(s.toString());
        Files.writeString(work.resolve("rs.py"), """
                import sys, http.server
                name = sys.argv[1]
                class H(http.server.BaseHTTPRequestHandler):
                    protocol_version = "HTTP/1.1"
                    def do_GET(self):
                        body = (name + " " + self.client_address[0] + "\\n").encode()
                        self.send_response(200)
                        self.send_header("Content-Length", str(len(body)))
                        self.end_headers()
                        self.wfile.write(body)
                    def log_message(self, *a):
                        pass
                http.server.ThreadingHTTPServer(("0.0.0.0", 80), H).serve_forever()
                """);
        Files.writeString(work.resolve("client.py"), """
                import sys, http.client, collections, json, os, time
                mode, n = sys.argv[1], int(sys.argv[2])
                if mode == "spread":
                    counts, errors, bodies = collections.Counter(), 0, []
                    deadline = time.time() + 30
                    for i in range(n):
                        if time.time() > deadline:
                            errors += n - i
                            break
                        try:
                            c = http.client.HTTPConnection("%s", 80, timeout=1)
                            c.request("GET", "/")
                            b = c.getresponse().read().decode().split()
                            counts[b[0]] += 1
                            bodies.append(b[1])
                            c.close()
                        except Exception as e:
                            errors += 1
                    print(json.dumps({"counts": counts, "errors": errors, "clients": sorted(set(bodies))}))
                elif mode == "pins":
                    # n keep-alive connections; one request on each now and again each time a go<k> file appears
                    conns = [http.client.HTTPConnection("%s", 80, timeout=3) for _ in range(n)]
                    step = 0
                    while True:
                        out = []
                        for c in conns:
                            try:
                                c.request("GET", "/")
                                out.append(c.getresponse().read().decode().split()[0])
                            except Exception as e:
                                out.append("error:" + type(e).__name__)
                        print(json.dumps(out), flush=True)
                        step += 1
                        go = sys.argv[3] + str(step)
                        while not os.path.exists(go) and not os.path.exists(sys.argv[3] + "stop"):
                            time.sleep(0.01)
                        if not os.path.exists(go):
                            break
                else:
                    c = http.client.HTTPConnection("%s", 80, timeout=10)
                    c.request("GET", "/"); print(c.getresponse().read().decode().strip(), flush=True)
                    while not os.path.exists(sys.argv[3]):
                        time.sleep(0.01)
                    c.request("GET", "/"); print(c.getresponse().read().decode().strip(), flush=True)
                """.formatted(VIP, VIP, VIP));
        for (int i = 0; i < 3; i++) {
            servers.add(new ProcessBuilder("ip", "netns", "exec", RS[i], "python3", work.resolve("rs.py").toString(),
                    "rs" + (i + 1)).redirectErrorStream(true).redirectOutput(work.resolve("rs" + i + ".log").toFile()).start());
        }
        vertx = Runtimes.vertx();
        director = start("dr");
        ready = true;
    }

    static DirectorConfig config(String method) {
        return config(method, true);
    }

    static DirectorConfig config(String method, boolean withRs2) {
        Problems problems = new Problems();
        ConfigMap root = ConfigMap.of(YamlLoader.parse("ns.yaml", """
                director:
                  dataplane: nft
                  interface: eth0
                  admin: off
                  repair_interval: 1s
                  services:
                    web:
                      vip: %s:80
                      scheduler: mh
                      method: %s
                      health: {type: tcp, interval: 100ms, timeout: 100ms, fall: 2, rise: 1}
                      real_servers:
                        - {address: %s:80, weight: 1}
                        %s
                        - {address: %s:80, weight: 2}
                """.formatted(VIP, method, RS_IP[0], withRs2 ? "- {address: " + RS_IP[1] + ":80, weight: 1}" : "",
                RS_IP[2])), problems);
        DirectorConfig cfg = DirectorConfig.parse(root.mapOrEmpty("director"));
        root.finish();
        problems.throwIfAny();
        return cfg;
    }

    static Director start(String method) throws Exception {
        DirectorConfig cfg = config(method);
        Director d = Director.start(vertx, cfg, () -> {
            Netns.enter(DIR); // the engine thread, and only it, lives in the director's namespace
            return NftDataplane.open(cfg);
        }, "test: nft in namespace " + DIR);
        // The first probes may run before the real servers' HTTP servers listen: measure only once every real
        // server has been seen up, or a request can land in the moment a server was taken out.
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(15);
        while (System.nanoTime() < deadline && !d.status().services().stream()
                .allMatch(svc -> svc.realServers().stream().allMatch(rs -> rs.health().equals("up")))) {
            Thread.sleep(20);
        }
        return d;
    }

    @AfterAll
    static void cleanup() throws Exception {
        if (director != null) {
            director.close();
        }
        if (vertx != null) {
            vertx.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
        }
        for (Process p : servers) {
            p.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
        }
        StringBuilder s = new StringBuilder();
        for (String ns : new String[] {CLIENT, DIR, RS[0], RS[1], RS[2]}) {
            s.append("ip netns del ").append(ns).append(" 2>/dev/null; ");
        }
        s.append("ip link del ").append(P).append("h 2>/dev/null; ip netns del ").append(SW).append(" 2>/dev/null; true");
        sh(s.toString());
    }

    static String client(String... args) throws Exception {
        List<String> cmd = new ArrayList<>(List.of("timeout", "60", "ip", "netns", "exec", CLIENT, "python3", work.resolve("client.py").toString()));
        cmd.addAll(List.of(args));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        p.waitFor(60, TimeUnit.SECONDS);
        return out.trim();
    }

    @SuppressWarnings("unchecked")
    static Map<String, Object> spread(int n) throws Exception {
        return new com.fasterxml.jackson.databind.ObjectMapper().readValue(client("spread", Integer.toString(n)), Map.class);
    }

    static long counter(String name) throws Exception {
        String out = sh("ip netns exec " + DIR + " nft list counter netdev tgprobe " + name);
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("packets (\\d+)").matcher(out);
        return m.find() ? Long.parseLong(m.group(1)) : -1;
    }

    @Test
    @Order(1)
    @SuppressWarnings("unchecked")
    void drDistributionFollowsWeightsAndRepliesBypassTheDirector() throws Exception {
        sh("ip netns exec " + DIR + " nft -f - <<'EOF'\n"
                + "table netdev tgprobe {\n counter toVip {}\n counter fromVip {}\n"
                + " chain c { type filter hook ingress device \"eth0\" priority -600; policy accept;\n"
                + "  ip daddr " + VIP + " tcp dport 80 counter name toVip\n"
                + "  ip saddr " + VIP + " tcp sport 80 counter name fromVip\n }\n}\nEOF");
        Map<String, Object> r = spread(400);
        Map<String, Integer> counts = (Map<String, Integer>) r.get("counts");
        System.out.println("[measure] DR distribution over 400 connections, weights 1:1:2: " + counts);
        assertThat(r.get("errors")).as("every request through the DR VIP succeeds").isEqualTo(0);
        assertThat(counts.get("rs3")).as("weight 2 of 4 gets about half the connections").isBetween(150, 250);
        assertThat(counts.get("rs1")).isBetween(60, 140);
        assertThat(counts.get("rs2")).isBetween(60, 140);
        assertThat(r.get("clients")).as("DR: real servers see the client's own address").isEqualTo(List.of("10.78.0.2"));
        long in = counter("toVip");
        long out = counter("fromVip");
        System.out.println("[measure] director saw " + in + " client->VIP packets and " + out + " VIP->client packets");
        assertThat(in).as("client packets do pass the director").isGreaterThan(400);
        assertThat(out).as("DR replies go from the real servers straight to the client, never via the director").isZero();
        sh("ip netns exec " + DIR + " nft delete table netdev tgprobe");
    }

    /**
     * A standby director (or any host on a flooding bridge) sees frames for the VIP that are addressed to another
     * MAC. The ingress hook runs before the IP layer would drop them, so without {@code meta pkttype host} it would
     * forward them too: duplicate SYNs to the real servers. Here the client sends to an unknown MAC; the bridge
     * floods, the director sees the frames and must forward none.
     */
    @Test
    @Order(2)
    void framesForAnotherMacAreNotForwarded() throws Exception {
        sh("ip netns exec " + DIR + " nft -f - <<'EOF'\n"
                + "table netdev tgprobe {\n counter seen {}\n"
                + " chain c { type filter hook ingress device \"eth0\" priority -600; policy accept;\n"
                + "  ip daddr " + VIP + " tcp dport 80 counter name seen\n }\n}\nEOF");
        try {
            sh("ip -n " + CLIENT + " neigh replace " + VIP + " dev eth0 lladdr 02:00:5e:00:53:99 nud permanent");
            Map<String, Object> r = spread(3);
            assertThat(counter("seen")).as("the flooded frames do reach the director's ingress").isGreaterThan(0);
            assertThat(r.get("errors")).as("frames addressed to another MAC are not forwarded by the director")
                    .isEqualTo(3);
        } finally {
            sh("ip -n " + CLIENT + " neigh del " + VIP + " dev eth0; ip netns exec " + DIR
                    + " nft delete table netdev tgprobe");
        }
        assertThat(spread(10).get("errors")).as("with the right MAC again, the VIP answers").isEqualTo(0);
    }

    @Test
    @Order(3)
    void restartingTheDirectorResetsNoEstablishedConnection() throws Exception {
        Path go = work.resolve("go");
        Process p = new ProcessBuilder("ip", "netns", "exec", CLIENT, "python3", work.resolve("client.py").toString(),
                "hold", "0", go.toString()).redirectErrorStream(true).start();
        BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
        String first = r.readLine();
        // pins age between two listings: compare without their remaining lifetime
        String before = sh("ip netns exec " + DIR + " nft list table netdev tiergate").replaceAll("expires \\S+", "");
        director.close();
        director = start("dr");
        String after = sh("ip netns exec " + DIR + " nft list table netdev tiergate").replaceAll("expires \\S+", "");
        Files.writeString(go, "go");
        String second = r.readLine();
        p.waitFor(10, TimeUnit.SECONDS);
        assertThat(first).startsWith("rs");
        assertThat(second).as("the same keep-alive connection answers after a director restart").isEqualTo(first);
        assertThat(after).as("a restarted director leaves an identical table untouched").isEqualTo(before);
    }

    /**
     * The flow table's promise: draining a real server lets its established connections finish while new ones avoid
     * it, and removing a real server moves none of the other real servers' connections (the stateless Maglev table
     * alone would remap the slots of both, and their flows would get RST from another server).
     */
    @Test
    @Order(4)
    @SuppressWarnings("unchecked")
    void drainKeepsEstablishedFlowsAndRemovingOneMovesNoOtherFlows() throws Exception {
        var json = new com.fasterxml.jackson.databind.ObjectMapper();
        Path go = work.resolve("pins-go");
        Process p = new ProcessBuilder("ip", "netns", "exec", CLIENT, "python3", work.resolve("client.py").toString(),
                "pins", "40", go.toString()).redirectErrorStream(true).start();
        try {
            BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
            List<String> before = json.readValue(r.readLine(), List.class);
            assertThat(before).as("40 keep-alive connections, spread over all three real servers")
                    .contains("rs1", "rs2", "rs3").allMatch(x -> x.startsWith("rs"));

            var status = director.status().services().get(0).realServers();
            System.out.println("[measure] per real server after 40 connections: " + status.stream()
                    .map(x -> x.id() + " packets=" + x.packetsIn() + " bytes=" + x.bytesIn() + " pinned="
                            + x.activeConnections()).toList());
            for (int i = 0; i < 3; i++) {
                String name = "rs" + (i + 1);
                long held = before.stream().filter(name::equals).count();
                var row = status.get(i);
                assertThat(row.packetsIn()).as(name + ": the nft counter saw its forwarded packets").isGreaterThan(held);
                assertThat(row.bytesIn()).as(name + ": bytes counted").isGreaterThan(0);
                assertThat(row.activeConnections()).as(name + ": its " + held + " connections are pinned")
                        .isGreaterThanOrEqualTo(held);
            }

            director.drain("web", RS_IP[0] + ":80");
            assertThat(sh("ip netns exec " + DIR + " nft list map netdev tiergate m_tcp_10_77_0_100_80"))
                    .as("the drained server owns no slot").doesNotContain(RS_IP[0]);
            Files.writeString(work.resolve("pins-go1"), "go");
            List<String> drained = json.readValue(r.readLine(), List.class);
            assertThat(drained).as("after draining rs1 every established connection answers from the same server")
                    .isEqualTo(before);
            Map<String, Object> fresh = spread(60);
            assertThat(fresh.get("errors")).as("new connections succeed while rs1 drains").isEqualTo(0);
            assertThat((Map<String, Integer>) fresh.get("counts")).as("new connections avoid the drained rs1")
                    .doesNotContainKey("rs1");

            director.reload(config("dr", false)); // rs2 removed from the service
            assertThat(sh("ip netns exec " + DIR + " nft list map netdev tiergate d_tcp_10_77_0_100_80"))
                    .as("the removed server is no member: its pins are ignored").doesNotContain(RS_IP[1]);
            Files.writeString(work.resolve("pins-go2"), "go");
            List<String> removed = json.readValue(r.readLine(), List.class);
            for (int i = 0; i < before.size(); i++) {
                if (!before.get(i).equals("rs2")) {
                    assertThat(removed.get(i)).as("connection " + i + " on " + before.get(i)
                            + " is untouched by removing rs2").isEqualTo(before.get(i));
                }
            }
            System.out.println("[measure] after removing rs2, its connections: " + java.util.stream.IntStream
                    .range(0, before.size()).filter(i -> before.get(i).equals("rs2")).mapToObj(removed::get).toList());
        } finally {
            Files.writeString(work.resolve("pins-gostop"), "stop");
            p.waitFor(15, TimeUnit.SECONDS);
            p.destroyForcibly();
            director.reload(config("dr"));
            director.enable("web", RS_IP[0] + ":80");
        }
    }

    @Test
    @Order(5)
    @SuppressWarnings("unchecked")
    void aKilledRealServerIsTakenOutAndNewConnectionsSucceed() throws Exception {
        long killed = System.nanoTime();
        servers.get(1).destroyForcibly();
        long deadline = killed + 5_000_000_000L;
        while (System.nanoTime() < deadline) {
            ServiceStatus.RealServerStatus rs2 = director.status().services().get(0).realServers().get(1);
            if (rs2.effectiveWeight() == 0) {
                break;
            }
            Thread.sleep(2);
        }
        long ms = (System.nanoTime() - killed) / 1_000_000;
        System.out.println("[measure] killed real server out of the nft map after " + ms + " ms (interval 100ms, fall 2)");
        assertThat(director.status().services().get(0).realServers().get(1).effectiveWeight()).isZero();
        assertThat(ms).as("out within a generous bound (target < 300 ms)").isLessThan(2000);
        assertThat(sh("ip netns exec " + DIR + " nft list map netdev tiergate m_tcp_10_77_0_100_80"))
                .as("the dead server owns no slot").doesNotContain(RS_IP[1]);
        Map<String, Object> r = spread(100);
        assertThat(r.get("errors")).as("new connections keep succeeding").isEqualTo(0);
        assertThat((Map<String, Integer>) r.get("counts")).doesNotContainKey("rs2");
    }

    @Test
    @Order(6)
    void natPreservesTheClientAddress() throws Exception {
        StringBuilder s = new StringBuilder("set -e\nip netns exec " + DIR + " sysctl -qw net.ipv4.ip_forward=1\n");
        for (String rs : RS) {
            s.append("ip -n ").append(rs).append(" route replace 10.78.0.0/24 via 10.77.0.3\n");
            s.append("ip -n ").append(rs).append(" addr del ").append(VIP).append("/32 dev lo\n");
        }
        sh(s.toString());
        sh("ip -n " + DIR + " addr del " + VIP + "/32 dev eth0; ip -n " + DIR + " addr add " + VIP + "/32 dev lo");
        director.reload(config("nat"));
        Map<String, Object> r = spread(50);
        assertThat(r.get("errors")).as("NAT through the director works").isEqualTo(0);
        assertThat(r.get("clients")).as("NAT: the real server sees the client's address, not the director's")
                .isEqualTo(List.of("10.78.0.2"));
        assertThat(sh("ip netns exec " + DIR + " nft list tables")).as("the DR table no longer holds the service")
                .contains("tiergate_nat");
    }
}
