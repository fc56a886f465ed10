package io.tiergate.director.ha;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.time.Duration;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Two Tiergate VRRP speakers (each a JVM in its own namespace) and a client on one bridge, 50 ms adverts.
 * Failover time = from the fault to the first gratuitous ARP for the VIP from the new master seen by the client.
 */
@Timeout(value = 90, unit = TimeUnit.SECONDS)
@VrrpNeedsNamespaces(tools = "arping")
class VrrpNamespaceTest {
    private static final Duration START = Duration.ofSeconds(20); // a cold JVM on 2 busy cores
    private static final Duration FAILOVER_BOUND = Duration.ofSeconds(1);


    private static double ms(long nanos) {
        return nanos / 1e6;
    }

    @Test
    void higherPriorityWinsKilledMasterIsReplacedAndPreemptsWhenBack() throws Exception {
        try (VrrpLab lab = new VrrpLab("a", "b", "client")) {
            VrrpLab.ArpWatch arp = lab.watchArp("client");
            VrrpLab.Speaker a = lab.tiergate("a", 200, "");
            VrrpLab.Speaker b = lab.tiergate("b", 100, "");
            VrrpLab.awaitElection(a, b, START);
            Thread.sleep(500);
            assertThat(a.states).as("a (priority 200) stays master").isEmpty();
            assertThat(b.states).as("b (priority 100) stays backup").isEmpty();
            assertThat(lab.hasVip("a")).as("master a holds the VIP").isTrue();
            assertThat(b.status()).as("the backup knows who the master is")
                    .isEqualTo("STATUS BACKUP priority=100 master=" + lab.address("a") + " interval=50ms");
            assertThat(a.status()).isEqualTo("STATUS MASTER priority=200 master=" + lab.address("a") + " interval=50ms");
            assertThat(lab.hasVip("b")).as("backup b does not hold the VIP").isFalse();

            long killed = a.kill();
            long answered = arp.firstFrom(lab.mac("b"), killed, FAILOVER_BOUND);
            System.out.printf("VRRP failover after SIGKILL of the master (50 ms adverts, backup priority 100): %.1f ms%n",
                    ms(answered - killed));
            b.awaitState("MASTER", FAILOVER_BOUND);
            assertThat(lab.hasVip("b")).isTrue();

            VrrpLab.Speaker a2 = lab.tiergate("a", 200, "");
            a2.awaitState("MASTER", START);
            b.awaitState("BACKUP", Duration.ofSeconds(2));
            assertThat(lab.hasVip("b")).as("b released the VIP when preempted").isFalse();
            assertThat(lab.hasVip("a")).isTrue();
        }
    }

    @Test
    void masterLinkDownFailsOverAndTheMasterReclaimsWhenTheLinkReturns() throws Exception {
        try (VrrpLab lab = new VrrpLab("a", "b", "client")) {
            VrrpLab.ArpWatch arp = lab.watchArp("client");
            VrrpLab.Speaker a = lab.tiergate("a", 200, "");
            VrrpLab.Speaker b = lab.tiergate("b", 150, "");
            VrrpLab.awaitElection(a, b, START);
            Thread.sleep(300);

            long down = lab.link("a", false);
            long answered = arp.firstFrom(lab.mac("b"), down, FAILOVER_BOUND);
            System.out.printf("VRRP failover after link down of the master (50 ms adverts, backup priority 150): %.1f ms%n",
                    ms(answered - down));
            b.awaitState("MASTER", FAILOVER_BOUND);

            lab.link("a", true);
            b.awaitState("BACKUP", Duration.ofSeconds(2));
            Thread.sleep(300);
            assertThat(a.states).as("a stayed master throughout (it never heard a higher priority)").isEmpty();
            assertThat(lab.hasVip("b")).isFalse();
        }
    }

    @Test
    void unicastPeersElectAndFailOverWithoutMulticast() throws Exception {
        try (VrrpLab lab = new VrrpLab("a", "b", "client")) {
            VrrpLab.ArpWatch arp = lab.watchArp("client");
            VrrpLab.Speaker a = lab.tiergate("a", 200, "unicast_peers: [" + lab.address("b") + "]");
            VrrpLab.Speaker b = lab.tiergate("b", 100, "unicast_peers: [" + lab.address("a") + "]");
            VrrpLab.awaitElection(a, b, START);
            Thread.sleep(500);
            assertThat(b.states).as("b hears a's unicast adverts and stays backup").isEmpty();

            long down = lab.link("a", false);
            long answered = arp.firstFrom(lab.mac("b"), down, FAILOVER_BOUND);
            System.out.printf("VRRP failover with unicast peers after link down: %.1f ms%n", ms(answered - down));
            b.awaitState("MASTER", FAILOVER_BOUND);
            assertThat(VrrpLab.run("ip", "netns", "exec", lab.ns("client"), "arping", "-c", "1", "-w", "2", "-I", "eth0",
                    VrrpLab.VIP).toLowerCase(java.util.Locale.ROOT))
                    .as("the client's ARP for the VIP is answered by b").contains(lab.mac("b"));
        }
    }

    @Test
    void noPreemptKeepsTheRunningMasterWhenAHigherPriorityJoins() throws Exception {
        try (VrrpLab lab = new VrrpLab("a", "b")) {
            VrrpLab.Speaker b = lab.tiergate("b", 100, "");
            b.awaitState("MASTER", START);
            VrrpLab.Speaker a = lab.tiergate("a", 200, "preempt: false");
            a.awaitState("BACKUP", START);
            Thread.sleep(1_000); // 20 adverts, about 6 Master_Down_Intervals
            assertThat(a.states).as("a (priority 200, preempt: false) stays backup").isEmpty();
            assertThat(b.states).as("b stays master").isEmpty();
            assertThat(lab.hasVip("b")).isTrue();
        }
    }

    @Test
    void cleanStopSendsPriorityZeroAndTheBackupTakesOverAfterSkewTime() throws Exception {
        try (VrrpLab lab = new VrrpLab("a", "b", "client")) {
            VrrpLab.ArpWatch arp = lab.watchArp("client");
            VrrpLab.Speaker a = lab.tiergate("a", 200, "");
            VrrpLab.Speaker b = lab.tiergate("b", 100, "");
            VrrpLab.awaitElection(a, b, START);
            Thread.sleep(300);
            long stopped = a.terminate();
            long answered = arp.firstFrom(lab.mac("b"), stopped, FAILOVER_BOUND);
            System.out.printf("VRRP takeover after a clean stop (priority 0) of the master: %.1f ms "
                    + "(skew for priority 100 at 50 ms: 30.5 ms, plus the JVM's shutdown hook)%n", ms(answered - stopped));
            a.awaitState("INIT", Duration.ofSeconds(2));
            assertThat(lab.hasVip("a")).as("a removed its VIP on stop").isFalse();
        }
    }

    @Test
    void unhealthyMasterGoesToFaultAndTheBackupTakesOverThenItPreemptsWhenHealthy() throws Exception {
        try (VrrpLab lab = new VrrpLab("a", "b")) {
            VrrpLab.Speaker a = lab.tiergate("a", 200, "notify: [sh, -c, 'echo \"$0\" >> " + lab.dir.resolve("a-notify.txt") + "']");
            VrrpLab.Speaker b = lab.tiergate("b", 100, "");
            VrrpLab.awaitElection(a, b, START);
            a.stdin.println("unhealthy");
            a.awaitState("FAULT", Duration.ofSeconds(1));
            b.awaitState("MASTER", Duration.ofMillis(500));
            assertThat(lab.hasVip("a")).as("a faulted director gives up the VIP").isFalse();
            a.stdin.println("healthy");
            a.awaitState("BACKUP", Duration.ofSeconds(1));
            a.awaitState("MASTER", Duration.ofSeconds(1));
            b.awaitState("BACKUP", Duration.ofSeconds(1));
            Thread.sleep(200);
            assertThat(java.nio.file.Files.readAllLines(lab.dir.resolve("a-notify.txt")))
                    .as("the notify hook ran once per transition with the new state")
                    .containsExactly("BACKUP", "MASTER", "FAULT", "BACKUP", "MASTER");
        }
    }
}
