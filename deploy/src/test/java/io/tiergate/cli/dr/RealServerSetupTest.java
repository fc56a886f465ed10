package io.tiergate.cli.dr;

import io.tiergate.cli.lab.Netns;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/** Runs the setup inside a fresh namespace (a child JVM), so the host's own lo and sysctls are never touched. */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class RealServerSetupTest {
    private final String ns = "tgrs" + (ProcessHandle.current().pid() % 100000);

    @BeforeEach
    void setUp() {
        String why = Netns.unavailableReason();
        Assumptions.assumeTrue(why == null, "real-server setup test skipped: " + why);
        if (Netns.list().contains(ns)) {
            Netns.delete(ns);
        }
        Netns.add(ns);
        Netns.veth(ns, "eth0", "10.204.0.2/24", null, ns.substring(0, Math.min(ns.length(), 12)) + "h", null);
    }

    @AfterEach
    void tearDown() {
        if (Netns.list().contains(ns)) {
            Netns.delete(ns); // removes the veth pair with it
        }
    }

    private String inNs(String... args) {
        List<String> cmd = new ArrayList<>(List.of("ip", "netns", "exec", ns,
                ProcessHandle.current().info().command().orElse("java"), "-cp", System.getProperty("java.class.path"),
                RealServerSetupMain.class.getName()));
        cmd.addAll(List.of(args));
        Netns.Result r = Netns.runResult(cmd.toArray(String[]::new));
        assertThat(r.exit()).as("child JVM output:\n" + r.output()).isZero();
        return r.output();
    }

    @Test
    void putsVipOnLoAndArpSysctlsThenRemovesExactlyWhatItAdded() {
        String out = inNs("10.204.0.100");
        assertThat(out).as("before: nothing set up").contains("missing-before=[VIP 10.204.0.100 is not on lo, arp_ignore is 0 on eth0")
                .contains("during: lo has 10.204.0.100/32=true all.arp_ignore=1 all.arp_announce=2 eth0.arp_ignore=1 eth0.arp_announce=2")
                .contains("missing-during=[]")
                .contains("after: lo has 10.204.0.100/32=false all.arp_ignore=0 all.arp_announce=0 eth0.arp_ignore=0 eth0.arp_announce=0");
    }

    @Test
    void aVipTheOperatorAlreadyAddedIsLeftInPlace() {
        Netns.exec(ns, "ip", "addr", "add", "10.204.0.101/32", "dev", "lo");
        String out = inNs("10.204.0.101");
        assertThat(out).contains("added=[]").contains("after: lo has 10.204.0.101/32=true");
    }

    @Test
    void tunnelModePrintsTunl0RpFilterArpAndTheMssClampAndRefusesWithoutIpip(@org.junit.jupiter.api.io.TempDir
                                                                               java.nio.file.Path sys) throws Exception {
        // A fake /proc/sys: strict rp_filter on all, one interface, and no tunl0 (a kernel without IPIP).
        for (String iface : List.of("all", "eth0")) {
            java.nio.file.Files.createDirectories(sys.resolve("net/ipv4/conf/" + iface));
            java.nio.file.Files.writeString(sys.resolve("net/ipv4/conf/" + iface + "/rp_filter"), "1");
        }
        RealServerSetup setup = new RealServerSetup(List.of("10.9.9.9", "fd00::9"), sys, 1480);
        assertThat(setup.commands()).containsExactly(
                "modprobe ipip && ip link set tunl0 up",
                "ip addr add 10.9.9.9/32 dev tunl0",
                "ip addr add fd00::9/128 dev lo",
                "sysctl -w net.ipv4.conf.all.arp_ignore=1 net.ipv4.conf.all.arp_announce=2",
                "sysctl -w net.ipv4.conf.eth0.arp_ignore=1 net.ipv4.conf.eth0.arp_announce=2",
                "sysctl -w net.ipv4.conf.tunl0.rp_filter=0 net.ipv4.conf.all.rp_filter=2",
                "nft 'add table inet tiergate_rs'",
                "nft 'add chain inet tiergate_rs output { type filter hook output priority mangle; policy accept; }'",
                "nft 'add rule inet tiergate_rs output ip saddr { 10.9.9.9 } tcp flags & (syn | ack) == syn | ack"
                        + " tcp option maxseg size > 1440 tcp option maxseg size set 1440'");
        assertThat(new RealServerSetup(List.of("10.9.9.9"), sys, 1400).mssBatch().get(2))
                .as("MSS = tunnel MTU - 40").endsWith("maxseg size > 1360 tcp option maxseg size set 1360");
        // apply() runs modprobe ipip: only where that cannot succeed, so the test never loads a module on the host
        Assumptions.assumeFalse(java.nio.file.Files.isDirectory(java.nio.file.Path.of("/sys/module/ipip"))
                || Netns.runResult("modprobe", "-n", "-q", "ipip").exit() == 0, "this kernel has ipip: refusal not testable here");
        assertThat(org.assertj.core.api.Assertions.catchThrowable(setup::apply))
                .as("no tunl0 after modprobe: one clear sentence, nothing changed")
                .hasMessage("dr.mode tunnel needs the kernel's IPIP tunnels (tunl0), but `modprobe ipip` did not add"
                        + " them: this kernel lacks CONFIG_NET_IPIP");
        assertThat(java.nio.file.Files.readString(sys.resolve("net/ipv4/conf/all/rp_filter"))).isEqualTo("1");
        assertThat(setup.addedVips()).isEmpty();
    }
}
