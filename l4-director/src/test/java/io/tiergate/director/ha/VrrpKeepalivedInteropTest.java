package io.tiergate.director.ha;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.time.Duration;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/** Tiergate and Debian's keepalived (vrrp_version 3, 50 ms adverts, same VRID) on one segment, in both roles. */
@Timeout(value = 90, unit = TimeUnit.SECONDS)
@VrrpNeedsNamespaces(tools = "keepalived")
class VrrpKeepalivedInteropTest {
    private static final Duration START = Duration.ofSeconds(20);


    @Test
    void tiergateBacksUpAKeepalivedMasterAndTakesOverWhenItCrashes() throws Exception {
        try (VrrpLab lab = new VrrpLab("ka", "tg", "client")) {
            VrrpLab.ArpWatch arp = lab.watchArp("client");
            VrrpLab.Keepalived ka = lab.keepalived("ka", 200, 0.05, false);
            ka.awaitLog("Entering MASTER STATE", START);
            VrrpLab.Speaker tg = lab.tiergate("tg", 100, "");
            tg.awaitState("BACKUP", START);
            Thread.sleep(1_000); // 20 keepalived adverts: each must pass our checksum/TTL checks or we'd take over
            assertThat(tg.states).as("Tiergate accepted keepalived's adverts and stayed backup").isEmpty();
            assertThat(lab.hasVip("tg")).isFalse();

            long crashed = ka.crash();
            long answered = arp.firstFrom(lab.mac("tg"), crashed, Duration.ofSeconds(1));
            System.out.printf("Tiergate took over from a crashed keepalived master in %.1f ms%n", (answered - crashed) / 1e6);
            tg.awaitState("MASTER", Duration.ofSeconds(1));
            assertThat(lab.hasVip("tg")).isTrue();
        }
    }

    @Test
    void keepalivedBacksUpATiergateMasterAndTakesOverWhenItIsKilled() throws Exception {
        try (VrrpLab lab = new VrrpLab("tg", "ka", "client")) {
            VrrpLab.ArpWatch arp = lab.watchArp("client");
            VrrpLab.Speaker tg = lab.tiergate("tg", 200, "");
            tg.awaitState("MASTER", START);
            VrrpLab.Keepalived ka = lab.keepalived("ka", 100, 0.05, false);
            ka.awaitLog("Entering BACKUP STATE", START);
            Thread.sleep(1_000);
            assertThat(ka.logContains("Entering MASTER STATE"))
                    .as("keepalived accepted Tiergate's adverts and stayed backup").isFalse();
            assertThat(tg.states).as("Tiergate stayed master").isEmpty();

            long killed = tg.kill();
            long answered = arp.firstFrom(lab.mac("ka"), killed, Duration.ofSeconds(1));
            System.out.printf("keepalived took over from a killed Tiergate master in %.1f ms%n", (answered - killed) / 1e6);
            ka.awaitLog("Entering MASTER STATE", Duration.ofSeconds(1));
            assertThat(lab.hasVip("ka")).isTrue();

            // Tiergate comes back with the higher priority and preempts keepalived.
            VrrpLab.Speaker tg2 = lab.tiergate("tg", 200, "");
            tg2.awaitState("MASTER", START);
            long deadline = System.nanoTime() + Duration.ofSeconds(2).toNanos();
            while (lab.hasVip("ka") && System.nanoTime() < deadline) {
                Thread.sleep(20);
            }
            assertThat(lab.hasVip("ka")).as("keepalived gave the VIP back to the higher-priority Tiergate").isFalse();
        }
    }
}
