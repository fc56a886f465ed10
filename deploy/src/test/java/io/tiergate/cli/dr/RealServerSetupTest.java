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
}
