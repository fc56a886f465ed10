package io.tiergate.cli.doctor;

import io.tiergate.cli.lab.Netns;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Runs {@code tiergate doctor} inside namespaces built to be wrong in one way at a time, and checks that it names
 * each problem with its fix — then that it is satisfied once the fix is applied.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class DoctorNamespaceTest {
    private final String tag = "tgdr" + (ProcessHandle.current().pid() % 10000);
    private final String director = tag + "-dir";
    private final String rs = tag + "-rs";
    private final String client = tag + "-cli";
    private final List<Process> processes = new ArrayList<>();

    @TempDir
    Path tmp;

    @BeforeEach
    void setUp() {
        String why = Netns.unavailableReason();
        Assumptions.assumeTrue(why == null, "doctor namespace tests skipped: " + why);
        cleanUp();
        Netns.add(director);
        Netns.add(rs);
        Netns.add(client);
        // director <-> rs on 10.201.0.0/24, client <-> director on 10.202.0.0/24
        Netns.veth(director, "eth1", "10.201.0.1/24", rs, "eth0", "10.201.0.11/24");
        Netns.veth(client, "eth0", "10.202.0.2/24", director, "eth0", "10.202.0.1/24");
    }

    @AfterEach
    void cleanUp() {
        processes.forEach(Process::destroyForcibly);
        for (String ns : List.of(director, rs, client)) {
            if (Netns.list().contains(ns)) {
                Netns.delete(ns);
            }
        }
    }

    private Netns.Result doctor(String ns, String... args) {
        List<String> cmd = new ArrayList<>(List.of("ip", "netns", "exec", ns,
                ProcessHandle.current().info().command().orElse("java"),
                "-cp", System.getProperty("java.class.path"), "io.tiergate.cli.Main", "doctor"));
        cmd.addAll(List.of(args));
        return Netns.runResult(cmd.toArray(String[]::new));
    }

    private void listen(String ns, String bind, int port) throws Exception {
        Process p = Netns.spawn(ns, tmp.resolve("listener-" + port + ".log"),
                List.of("python3", "-m", "http.server", "--bind", bind, String.valueOf(port)));
        processes.add(p);
        for (int i = 0; i < 50; i++) {
            if (Netns.exec(ns, "cat", "/proc/net/tcp").contains(":" + String.format("%04X", port) + " ")) {
                return;
            }
            Thread.sleep(100);
        }
        throw new AssertionError("listener on " + bind + ":" + port + " in " + ns + " did not start");
    }

    @Test
    void realServerMistakesAreEachNamedWithTheirFixAndTheFixesSatisfyIt() throws Exception {
        Netns.exec(rs, "ip", "addr", "add", "10.201.0.100/32", "dev", "eth0"); // VIP on the wrong interface
        listen(rs, "10.201.0.11", 8080);                                      // bound to the host address only

        Netns.Result bad = doctor(rs, "--role", "real-server", "--vip", "10.201.0.100", "--port", "8080");
        assertThat(bad.exit()).as("doctor exits 1 when something is wrong:\n" + bad.output()).isEqualTo(1);
        assertThat(bad.output())
                .contains("[FAIL] VIP 10.201.0.100: is on eth0")
                .contains("fix: ip addr del 10.201.0.100/32 dev eth0 && ip addr add 10.201.0.100/32 dev lo")
                .contains("[FAIL] VIP 10.201.0.100: not on lo")
                .contains("[FAIL] arp_ignore on eth0")
                .contains("fix: sysctl -w net.ipv4.conf.all.arp_ignore=1 net.ipv4.conf.eth0.arp_ignore=1")
                .contains("[FAIL] arp_announce on eth0")
                .contains("[FAIL] listener :8080: bound only to 10.201.0.11");

        Netns.exec(rs, "ip", "addr", "del", "10.201.0.100/32", "dev", "eth0");
        Netns.exec(rs, "ip", "addr", "add", "10.201.0.100/32", "dev", "lo");
        Netns.exec(rs, "sysctl", "-qw", "net.ipv4.conf.all.arp_ignore=1", "net.ipv4.conf.eth0.arp_ignore=1",
                "net.ipv4.conf.all.arp_announce=2", "net.ipv4.conf.eth0.arp_announce=2");
        processes.forEach(Process::destroyForcibly);
        listen(rs, "0.0.0.0", 8081);

        Netns.Result good = doctor(rs, "--role", "real-server", "--vip", "10.201.0.100", "--port", "8081");
        assertThat(good.exit()).as("doctor is satisfied after the fixes:\n" + good.output()).isZero();
        assertThat(good.output()).contains("[ ok ] VIP 10.201.0.100: on lo").contains("[ ok ] listener :8081: bound to 0.0.0.0")
                .doesNotContain("[FAIL]");
    }

    @Test
    void tunnelModeChecksTunl0TheMssClampAndOnTheDirectorTheIpipModule() throws Exception {
        boolean ipip = java.nio.file.Files.isDirectory(Path.of("/sys/module/ipip"))
                || Netns.runResult("modprobe", "-n", "-q", "ipip").exit() == 0;
        Netns.exec(rs, "ip", "addr", "add", "10.201.0.100/32", "dev", "lo");
        Netns.exec(rs, "sysctl", "-qw", "net.ipv4.conf.all.arp_ignore=1", "net.ipv4.conf.all.arp_announce=2");
        listen(rs, "0.0.0.0", 8082);

        Netns.Result unclamped = doctor(rs, "--role", "real-server", "--mode", "tunnel", "--vip", "10.201.0.100",
                "--port", "8082");
        assertThat(unclamped.output()).as(unclamped.output())
                .contains("[ ok ] VIP 10.201.0.100: local (on tunl0 or lo)")
                .contains("[warn] MSS for the VIPs: not clamped")
                .contains("tcp option maxseg size set 1440");
        if (!ipip) { // this project's build host: no IPIP in the kernel, so no tunl0 in any namespace
            assertThat(unclamped.output()).contains("[FAIL] tunl0: missing").contains("fix: modprobe ipip && ip link set tunl0 up");
            assertThat(unclamped.exit()).isEqualTo(1);
        }

        Netns.exec(rs, "nft", "add table inet tiergate_rs\nadd chain inet tiergate_rs output { type filter hook output"
                + " priority mangle; policy accept; }\nadd rule inet tiergate_rs output ip saddr 10.201.0.100 tcp flags &"
                + " (syn | ack) == syn | ack tcp option maxseg size > 1440 tcp option maxseg size set 1440");
        Netns.Result clamped = doctor(rs, "--role", "real-server", "--mode", "tunnel", "--vip", "10.201.0.100",
                "--port", "8082");
        assertThat(clamped.output()).as(clamped.output()).contains("[ ok ] MSS for the VIPs: clamped by nft table inet tiergate_rs");

        Netns.Result dir = doctor(director, "--role", "director", "--mode", "tunnel", "--vip", "10.202.0.1",
                "--real-server", "10.201.0.11");
        assertThat(dir.output()).as(dir.output()).contains(ipip ? "[ ok ] IPIP: the kernel has the ipip module"
                : "[FAIL] IPIP: this kernel has no ipip module (CONFIG_NET_IPIP)");
    }

    @Test
    void directorFindsVipOnLoMissingRealServerRoutedRealServerMtuAndIpForward() {
        Netns.exec(director, "ip", "addr", "add", "10.202.0.100/32", "dev", "lo");
        Netns.exec(director, "ip", "route", "add", "10.203.0.0/24", "via", "10.201.0.11");
        Netns.exec(director, "ip", "link", "set", "eth1", "mtu", "1400");

        Netns.Result r = doctor(director, "--role", "director", "--mode", "nat", "--vip", "10.202.0.100",
                "--real-server", "10.201.0.11", "--real-server", "10.201.0.55", "--port", "80");
        assertThat(r.exit()).isEqualTo(1);
        assertThat(r.output())
                .contains("[FAIL] VIP 10.202.0.100: on lo")
                .contains("[FAIL] ip_forward: 0")
                .contains("fix: sysctl -w net.ipv4.ip_forward=1")
                .contains("[ ok ] real server 10.201.0.11: on eth1, same L2 segment")
                .contains("[FAIL] real server 10.201.0.55: on eth1 but does not answer ARP");

        Netns.exec(director, "ip", "addr", "del", "10.202.0.100/32", "dev", "lo");
        Netns.exec(director, "ip", "addr", "add", "10.202.0.100/32", "dev", "eth0");
        Netns.Result dr = doctor(director, "--role", "director", "--mode", "dr", "--vip", "10.202.0.100",
                "--real-server", "10.201.0.11", "--real-server", "10.203.0.7");
        assertThat(dr.output())
                .contains("[ ok ] VIP 10.202.0.100: on eth0")
                .contains("[FAIL] real server 10.203.0.7: reached via router 10.201.0.11")
                .contains("[FAIL] MTU toward 10.201.0.11: eth1 has MTU 1400 but packets for the VIP arrive on eth0 with up to 1500");
    }
}
