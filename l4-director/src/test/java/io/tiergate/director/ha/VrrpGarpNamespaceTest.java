package io.tiergate.director.ha;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/** Gratuitous ARPs as a client on the segment sees them (tcpdump): the first burst, the second one, the refresh. */
@Timeout(value = 90, unit = TimeUnit.SECONDS)
@VrrpNeedsNamespaces
class VrrpGarpNamespaceTest {
    private static final Duration START = Duration.ofSeconds(20);

    @Test
    void aSecondBurstFollowsAfterGarpMasterDelay() throws Exception {
        try (VrrpLab lab = new VrrpLab("a", "client")) {
            VrrpLab.ArpWatch arp = lab.watchArp("client");
            VrrpLab.Speaker a = lab.tiergate("a", 200, "garp_count: 3\ngarp_interval: 100ms\ngarp_master_delay: 2s");
            a.awaitState("MASTER", START);
            List<Long> seen = arp.allFrom(lab.mac("a"), Duration.ofSeconds(5));
            assertThat(seen).as("3 at takeover, 3 again 2 s later, then nothing").hasSize(6);
            long first = seen.get(0);
            System.out.printf("gratuitous ARPs at %s ms after the first%n",
                    seen.stream().map(t -> String.format("%.0f", VrrpLab.ms(t - first))).toList());
            assertThat(Duration.ofNanos(seen.get(2) - first)).as("first burst").isLessThan(Duration.ofMillis(1_500));
            // Capture times (tcpdump's kernel stamps); the speaker's own timers still run late on a loaded machine,
            // so the bounds only separate the bursts clearly.
            assertThat(Duration.ofNanos(seen.get(3) - first)).as("second burst after garp_master_delay")
                    .isGreaterThanOrEqualTo(Duration.ofMillis(1_500)).isLessThan(Duration.ofMillis(3_500));
        }
    }

    @Test
    void aMasterRefreshesItsArpWhileItStaysMasterAndStopsWhenItLeaves() throws Exception {
        try (VrrpLab lab = new VrrpLab("a", "client")) {
            VrrpLab.ArpWatch arp = lab.watchArp("client");
            VrrpLab.Speaker a = lab.tiergate("a", 200, "garp_count: 1\ngarp_master_delay: 0s\ngarp_master_refresh: 1s");
            a.awaitState("MASTER", START);
            List<Long> seen = arp.allFrom(lab.mac("a"), Duration.ofMillis(4_500));
            assertThat(seen.size()).as("one at takeover, then one a second").isBetween(4, 6);
            a.stdin.println("unhealthy"); // FAULT: gives up the VIP
            a.awaitState("FAULT", Duration.ofSeconds(2));
            arp.allFrom(lab.mac("a"), Duration.ofMillis(300)); // in flight
            assertThat(arp.allFrom(lab.mac("a"), Duration.ofMillis(2_500))).as("no refresh once not master").isEmpty();
        }
    }
}
