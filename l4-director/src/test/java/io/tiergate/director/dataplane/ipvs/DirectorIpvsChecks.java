package io.tiergate.director.dataplane.ipvs;

import static io.tiergate.director.dataplane.ipvs.IpvsKernelChecks.ipvsadm;
import static io.tiergate.director.dataplane.ipvs.IpvsKernelChecks.sh;
import static org.assertj.core.api.Assertions.assertThat;

import io.tiergate.director.Director;
import io.tiergate.director.config.DirectorConfig;
import io.tiergate.director.model.Role;
import io.tiergate.shared.config.ConfigMap;
import io.tiergate.shared.config.Problems;
import io.tiergate.shared.config.YamlLoader;
import io.vertx.core.Vertx;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;

/**
 * The real {@link Director} on the ipvs dataplane, inside the VM: starts it on a config, checks what
 * {@code ipvsadm -Ln} shows, drains a real server (weight 0), kills one (health checks set it to weight 0), runs the
 * sync daemon as backup then master, and restarts the director to prove it flushes nothing: the table and its
 * {@code --stats} counters survive. Topology: the guest's root namespace is the director (VIP on the bridge), a
 * client and three real servers (busybox httpd, VIP on lo, no ARP for it) in namespaces.
 */
final class DirectorIpvsChecks {
    private static final String VIP = "192.168.60.100";
    private static final String NET = "192.168.60.";

    private DirectorIpvsChecks() {}

    static DirectorConfig config() {
        Problems problems = new Problems();
        ConfigMap root = ConfigMap.of(YamlLoader.parse("vm.yaml", """
                director:
                  dataplane: ipvs
                  admin: off
                  repair_interval: 1s
                  sync: {interface: tgbr1, syncid: 7}
                  services:
                    web:
                      vip: %s:80
                      scheduler: wrr
                      method: dr
                      on_failure: weight0
                      health: {type: tcp, interval: 200ms, timeout: 200ms, fall: 2, rise: 1}
                      real_servers:
                        - {address: %s11:80, weight: 1}
                        - {address: %s12:80, weight: 2}
                        - {address: %s13:80, weight: 3}
                """.formatted(VIP, NET, NET, NET)), problems);
        DirectorConfig cfg = DirectorConfig.parse(root.mapOrEmpty("director"));
        root.finish();
        problems.throwIfAny();
        return cfg;
    }

    static void run() throws Exception {
        sh(String.join("\n",
                "set -e",
                "ip link add tgbr1 type bridge && ip addr add " + NET + "1/24 dev tgbr1 && ip addr add " + VIP
                        + "/32 dev tgbr1 && ip link set tgbr1 up",
                "for n in dcli:10 drs1:11 drs2:12 drs3:13; do",
                "  ns=${n%:*}; ip=${n#*:}",
                "  ip netns add $ns",
                "  ip link add v$ns type veth peer name eth0 netns $ns",
                "  ip link set v$ns master tgbr1 up",
                "  ip -n $ns addr add " + NET + "$ip/24 dev eth0",
                "  ip -n $ns link set eth0 up; ip -n $ns link set lo up",
                "done",
                "for ns in drs1 drs2 drs3; do",
                "  ip -n $ns addr add " + VIP + "/32 dev lo",
                "  ip netns exec $ns sysctl -qw net.ipv4.conf.all.arp_ignore=1 net.ipv4.conf.all.arp_announce=2",
                "  mkdir -p /tmp/$ns && echo $ns > /tmp/$ns/index.html",
                "  ip netns exec $ns busybox httpd -p 80 -h /tmp/$ns",
                "done"));
        Vertx vertx = Vertx.vertx();
        Director director = null;
        try {
            DirectorConfig cfg = config();
            long t0 = System.nanoTime();
            director = Director.start(vertx, cfg);
            System.out.printf("     director started on %s in %d ms%n", director.dataplane().kind().configName(),
                    (System.nanoTime() - t0) / 1_000_000);
            assertThat(dests()).as("ipvsadm -Ln shows the service with its weights")
                    .containsExactly(NET + "11:80 Route 1", NET + "12:80 Route 2", NET + "13:80 Route 3");
            assertThat(ipvsadm("-Ln")).anyMatch(l -> l.equals("TCP " + VIP + ":80 wrr"));

            assertThat(String.join("\n", ipvsadm("-L", "--daemon")))
                    .as("sync configured: the director starts as backup").contains("backup sync daemon")
                    .contains("syncid=7").doesNotContain("master sync daemon");
            director.setRole(Role.MASTER);
            assertThat(String.join("\n", ipvsadm("-L", "--daemon"))).as("HA made it master")
                    .contains("master sync daemon").contains("syncid=7").doesNotContain("backup sync daemon");

            assertThat(curl(12)).as("requests through the VIP reach the real servers").doesNotContain("FAILED")
                    .contains("drs2", "drs3");

            director.drain("web", NET + "11:80");
            assertThat(dests()).as("drained: weight 0 in ipvsadm, still listed (quiesced)")
                    .contains(NET + "11:80 Route 0");

            long killed = System.nanoTime();
            // A busybox httpd child may exit between the listing and the kill: a vanished PID is not a failure;
            // the weight-0 assertion below proves the server is gone.
            sh("ip netns pids drs3 | xargs -r kill 2>/dev/null; true");
            long ms = waitFor(l -> l.contains(NET + "13:80 Route 0"), 5000);
            System.out.printf("     killed real server at weight 0 in ipvsadm after %d ms (interval 200ms, fall 2, under TCG)%n",
                    (System.nanoTime() - killed) / 1_000_000);
            assertThat(ms).as("the killed real server reaches weight 0 within 5 s").isGreaterThanOrEqualTo(0);
            assertThat(curl(6)).as("new connections go to the one usable real server").containsOnly("drs2");

            // Back to the configured state, so a restarted director (which has no memory of drains) wants the same.
            director.enable("web", NET + "11:80");
            sh("ip netns exec drs3 busybox httpd -p 80 -h /tmp/drs3");
            assertThat(waitFor(l -> l.contains(NET + "13:80 Route 3"), 5000)).as("rs3 back at weight 3")
                    .isGreaterThanOrEqualTo(0);
            curl(6);
            Thread.sleep(2500); // the kernel's stats lag about 2 s
            List<String> table = dests();
            long conns = serviceConns();
            assertThat(conns).as("connections counted before the restart").isGreaterThan(0);

            director.close();
            director = Director.start(vertx, cfg);
            assertThat(dests()).as("a restarted director leaves an identical IPVS table as it was").isEqualTo(table);
            Thread.sleep(1500);
            assertThat(dests()).as("...and after its first health probes").isEqualTo(table);
            assertThat(serviceConns()).as("ipvsadm -Ln --stats: the service's connection counter was not reset "
                    + "(no flush, no delete/re-add)").isGreaterThanOrEqualTo(conns);
            assertThat(String.join("\n", ipvsadm("-L", "--daemon"))).as("the kernel's sync daemon kept running")
                    .contains("sync daemon");
        } finally {
            if (director != null) {
                director.close();
            }
            vertx.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
            sh("ipvsadm -C; ipvsadm --stop-daemon master 2>/dev/null; ipvsadm --stop-daemon backup 2>/dev/null; "
                    + "for ns in dcli drs1 drs2 drs3; do ip netns pids $ns | xargs -r kill 2>/dev/null; ip netns del $ns; done; "
                    + "ip link del tgbr1; true");
        }
    }

    /** The real servers of the VIP as {@code address:port Forward Weight}. */
    private static List<String> dests() {
        List<String> out = new ArrayList<>();
        boolean in = false;
        for (String l : ipvsadm("-Ln")) {
            if (l.startsWith("TCP ") || l.startsWith("UDP ") || l.startsWith("FWM ")) {
                in = l.startsWith("TCP " + VIP + ":80");
            } else if (in && l.startsWith("-> ") && !l.startsWith("-> RemoteAddress")) {
                String[] f = l.substring(3).split(" ");
                out.add(f[0] + " " + f[1] + " " + f[2]);
            }
        }
        return out;
    }

    private static long serviceConns() {
        return ipvsadm("-Ln", "--stats").stream().filter(l -> l.startsWith("TCP " + VIP + ":80 ")).findFirst()
                .map(l -> Long.parseLong(l.split(" ")[2])).orElse(-1L);
    }

    /** Polls ipvsadm until a destination line matches; returns the ms it took, -1 on timeout. */
    private static long waitFor(Predicate<String> line, long timeoutMs) throws InterruptedException {
        long t0 = System.nanoTime();
        while ((System.nanoTime() - t0) / 1_000_000 < timeoutMs) {
            if (dests().stream().anyMatch(line)) {
                return (System.nanoTime() - t0) / 1_000_000;
            }
            Thread.sleep(20);
        }
        return -1;
    }

    private static List<String> curl(int n) {
        List<String> out = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            out.add(sh("ip netns exec dcli curl -s --max-time 2 http://" + VIP + "/ || echo FAILED").trim());
        }
        return out;
    }
}
