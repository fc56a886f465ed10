package io.tiergate.director.ha;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.time.Duration;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A reloaded {@code vrrp:} section on two running Tiergate speakers (JVMs in their own namespaces, 50 ms adverts):
 * what applies live must not cause a failover by itself, and what restarts must hand over cleanly.
 */
@Timeout(value = 90, unit = TimeUnit.SECONDS)
@VrrpNeedsNamespaces
class VrrpReloadNamespaceTest {
    private static final Duration START = Duration.ofSeconds(20); // a cold JVM on 2 busy cores
    private static final String VIP = VrrpLab.VIP + "/24";
    private static final String VIP2 = "10.88.0.101";

    /** Starts b (priority 100) and waits until a (priority 200) is master and b backup; returns b. */
    private static VrrpLab.Speaker elected(VrrpLab lab, VrrpLab.Speaker a) throws Exception {
        VrrpLab.Speaker b = lab.tiergate("b", 100, "");
        VrrpLab.awaitElection(a, b, START);
        return b;
    }

    @Test
    void aMasterReloadedBelowTheBackupsPriorityHandsTheVipOver() throws Exception {
        try (VrrpLab lab = new VrrpLab("a", "b")) {
            VrrpLab.Speaker a = lab.tiergate("a", 200, "");
            VrrpLab.Speaker b = elected(lab, a);
            a.reload(VrrpLab.yaml(VrrpLab.VRID, 50, VIP, ""));
            b.awaitState("MASTER", Duration.ofSeconds(2));
            a.awaitState("BACKUP", Duration.ofSeconds(2));
            assertThat(a.logged("vrrp: priority changed 200 -> 50")).as("a logs the applied change").isTrue();
            assertThat(lab.settlesVip("b", true, Duration.ofSeconds(1))).as("the VIP moved to b").isTrue();
            assertThat(lab.settlesVip("a", false, Duration.ofSeconds(1))).as("a released the VIP").isTrue();
            assertThat(a.status()).startsWith("STATUS BACKUP priority=50 master=" + lab.address("b"));
        }
    }

    @Test
    void aVipAddedOnReloadIsOwnedAndAnnouncedByTheMasterOnly() throws Exception {
        try (VrrpLab lab = new VrrpLab("a", "b", "client")) {
            VrrpLab.ArpWatch arp = lab.watchArp("client");
            VrrpLab.Speaker a = lab.tiergate("a", 200, "");
            VrrpLab.Speaker b = elected(lab, a);
            long reloaded = System.nanoTime();
            String both = VIP + ", " + VIP2 + "/24";
            b.reload(VrrpLab.yaml(VrrpLab.VRID, 100, both, ""));
            a.reload(VrrpLab.yaml(VrrpLab.VRID, 200, both, ""));
            arp.firstFrom(lab.mac("a"), VIP2, reloaded, Duration.ofSeconds(2));
            assertThat(lab.hasAddress("a", VIP2)).as("master a added the new VIP").isTrue();
            assertThat(lab.hasVip("a")).as("and kept the old one").isTrue();
            Thread.sleep(500);
            assertThat(lab.hasAddress("b", VIP2)).as("backup b only remembers the new VIP").isFalse();
            assertThat(a.states).as("a stays master").isEmpty();
            assertThat(b.states).as("b stays backup").isEmpty();

            a.reload(VrrpLab.yaml(VrrpLab.VRID, 200, VIP2 + "/24", ""));
            long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(2);
            while (lab.hasVip("a") && System.nanoTime() < end) {
                Thread.sleep(20);
            }
            assertThat(lab.hasVip("a")).as("a dropped the VIP removed from its config").isFalse();
            assertThat(lab.hasAddress("a", VIP2)).isTrue();
        }
    }

    @Test
    void aReloadWithAnUnchangedVrrpSectionCausesNoRoleChangeAndNoVipFlap() throws Exception {
        try (VrrpLab lab = new VrrpLab("a", "b")) {
            VrrpLab.Speaker a = lab.tiergate("a", 200, "");
            VrrpLab.Speaker b = elected(lab, a);
            // The same vrrp section; another part of the file (the director's services) changed.
            String unrelated = VrrpLab.yaml(VrrpLab.VRID, 200, VIP, "") + "  services: []\n";
            a.reload(unrelated);
            b.reload(VrrpLab.yaml(VrrpLab.VRID, 100, VIP, "") + "  services: []\n");
            for (int i = 0; i < 20; i++) {
                assertThat(lab.hasVip("a")).as("a holds the VIP throughout (check " + i + ")").isTrue();
                Thread.sleep(50);
            }
            assertThat(a.states).as("a stays master").isEmpty();
            assertThat(b.states).as("b stays backup").isEmpty();
            assertThat(a.logged("restarting")).as("nothing restarted").isFalse();
        }
    }

    @Test
    void aChangedVridRestartsTheInstanceCleanly() throws Exception {
        try (VrrpLab lab = new VrrpLab("a", "b")) {
            VrrpLab.Speaker a = lab.tiergate("a", 200, "");
            VrrpLab.Speaker b = elected(lab, a);
            a.reload(VrrpLab.yaml(43, 200, VIP, ""));
            assertThat(a.logged("vrrp: vrid changed 42 -> 43: restarting the VRRP instance "
                    + "(a master hands over with a priority-0 advert)")).as("a logs the restart").isTrue();
            a.awaitState("INIT", Duration.ofSeconds(2));
            b.awaitState("MASTER", Duration.ofSeconds(2)); // vrid 42's master left with priority 0
            a.awaitState("MASTER", Duration.ofSeconds(2)); // alone in vrid 43
            b.reload(VrrpLab.yaml(43, 100, VIP, ""));
            b.awaitState("BACKUP", Duration.ofSeconds(2)); // the new instance hears a in vrid 43
            Thread.sleep(500);
            assertThat(b.states).as("b stays backup in vrid 43").isEmpty();
            assertThat(lab.hasVip("a")).as("a, the vrid-43 master, holds the VIP").isTrue();
            assertThat(lab.hasVip("b")).as("b's vrid-42 instance released it").isFalse();
        }
    }
}
