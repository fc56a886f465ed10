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
    /**
     * 200 ms adverts (master down after ~0.7 s): interop is what this proves; at 50 ms a loaded 2-core machine can
     * delay one side's adverts past the master-down interval and make a backup take over for real. The fast
     * takeover figures are in bench/vrrp-failover.sh.
     */
    private static final String ADVERT = "200ms";
    private static final double ADVERT_S = 0.2;
    private static final Duration TAKEOVER = Duration.ofSeconds(4);


    @Test
    void tiergateBacksUpAKeepalivedMasterAndTakesOverWhenItCrashes() throws Exception {
        try (VrrpLab lab = new VrrpLab("ka", "tg", "client")) {
            VrrpLab.ArpWatch arp = lab.watchArp("client");
            VrrpLab.Keepalived ka = lab.keepalived("ka", 200, ADVERT_S, false);
            ka.awaitLog("Entering MASTER STATE", START);
            VrrpLab.Speaker tg = lab.tiergate("tg", 100, ADVERT, "");
            tg.awaitState("BACKUP", START);
            Thread.sleep(2_000); // 10 keepalived adverts: each must pass our checksum/TTL checks or we'd take over
            assertThat(tg.states).as("Tiergate accepted keepalived's adverts and stayed backup").isEmpty();
            assertThat(lab.hasVip("tg")).isFalse();

            long crashed = ka.crash();
            long answered = arp.firstFrom(lab.mac("tg"), crashed, TAKEOVER);
            System.out.printf("Tiergate took over from a crashed keepalived master in %.1f ms%n", (answered - crashed) / 1e6);
            tg.awaitState("MASTER", TAKEOVER);
            assertThat(lab.hasVip("tg")).isTrue();
        }
    }

    @Test
    void keepalivedBacksUpATiergateMasterAndTakesOverWhenItIsKilled() throws Exception {
        try (VrrpLab lab = new VrrpLab("tg", "ka", "client")) {
            VrrpLab.ArpWatch arp = lab.watchArp("client");
            VrrpLab.Speaker tg = lab.tiergate("tg", 200, ADVERT, "");
            tg.awaitState("MASTER", START);
            VrrpLab.Keepalived ka = lab.keepalived("ka", 100, ADVERT_S, false);
            ka.awaitLog("Entering BACKUP STATE", START);
            Thread.sleep(2_000);
            assertThat(ka.logContains("Entering MASTER STATE"))
                    .as("keepalived accepted Tiergate's adverts and stayed backup").isFalse();
            assertThat(tg.states).as("Tiergate stayed master").isEmpty();

            long killed = tg.kill();
            long answered = arp.firstFrom(lab.mac("ka"), killed, TAKEOVER);
            System.out.printf("keepalived took over from a killed Tiergate master in %.1f ms%n", (answered - killed) / 1e6);
            ka.awaitLog("Entering MASTER STATE", TAKEOVER);
            assertThat(lab.hasVip("ka")).isTrue();

            // Tiergate comes back with the higher priority and preempts keepalived.
            VrrpLab.Speaker tg2 = lab.tiergate("tg", 200, ADVERT, "");
            tg2.awaitState("MASTER", START);
            long deadline = System.nanoTime() + TAKEOVER.toNanos();
            while (lab.hasVip("ka") && System.nanoTime() < deadline) {
                Thread.sleep(20);
            }
            assertThat(lab.hasVip("ka")).as("keepalived gave the VIP back to the higher-priority Tiergate").isFalse();
        }
    }
}
