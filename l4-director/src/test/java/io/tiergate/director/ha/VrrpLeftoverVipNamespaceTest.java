package io.tiergate.director.ha;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.time.Duration;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A Tiergate master SIGKILLed next to a keepalived backup (both VRRPv3, adverts every 1 s, keepalived's default):
 * the kernel of the killed node must not keep answering for the VIP next to the new master. "At the same time"
 * is measured with {@code ip monitor address} in both namespaces.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
@VrrpNeedsNamespaces(tools = "keepalived")
class VrrpLeftoverVipNamespaceTest {
    private static final Duration START = Duration.ofSeconds(20);
    private static final Duration ADVERT = Duration.ofSeconds(1);

    @Test
    void aKilledMastersVipExpiresBeforeTheBackupTakesOverAndItsRestartHandsBackCleanly() throws Exception {
        try (VrrpLab lab = new VrrpLab("tg", "ka")) {
            VrrpLab.Speaker tg = lab.tiergate("tg", 200, "1s", ""); // vip_lifetime: auto = 1 s at 1 s adverts
            tg.awaitState("MASTER", START);
            VrrpLab.Keepalived ka = lab.keepalived("ka", VrrpLab.VRID, 3, 100, 1.0, "");
            ka.awaitLog("Entering BACKUP STATE", START);
            Thread.sleep(1_500);
            VrrpLab.VipWatch tgVip = lab.watchVip("tg");
            VrrpLab.VipWatch kaVip = lab.watchVip("ka");

            long killed = tg.kill();
            long gone = tgVip.await(false, killed, Duration.ofSeconds(10));
            long taken = kaVip.await(true, killed, Duration.ofSeconds(10));
            System.out.printf("SIGKILLed master (1 s adverts, vip_lifetime auto = 1 s): its VIP expired %.0f ms after "
                    + "the kill, keepalived added it %.0f ms after the kill; overlap %.0f ms%n",
                    VrrpLab.ms(gone - killed), VrrpLab.ms(taken - killed), VrrpLab.ms(Math.max(0, gone - taken)));
            assertThat(Duration.ofNanos(Math.max(0, gone - taken))).as("both held the VIP").isLessThan(ADVERT);

            // Back with the higher priority: it preempts; keepalived lets go as soon as it hears the advert.
            VrrpLab.Speaker tg2 = lab.tiergate("tg", 200, "1s", "");
            long back = tgVip.await(true, taken, START);
            long released = kaVip.await(false, taken, Duration.ofSeconds(10));
            System.out.printf("restarted master took the VIP back; keepalived released it %.0f ms later%n",
                    VrrpLab.ms(released - back));
            assertThat(Duration.ofNanos(Math.max(0, released - back))).as("both held the VIP").isLessThan(ADVERT);
            tg2.awaitState("MASTER", Duration.ofSeconds(5));
        }
    }

    @Test
    void withAPermanentVipTheRestartRemovesTheLeftoverBeforeItDoesAnythingElse() throws Exception {
        try (VrrpLab lab = new VrrpLab("tg", "ka")) {
            VrrpLab.Speaker tg = lab.tiergate("tg", 200, "1s", "vip_lifetime: forever");
            tg.awaitState("MASTER", START);
            VrrpLab.Keepalived ka = lab.keepalived("ka", VrrpLab.VRID, 3, 100, 1.0, "");
            ka.awaitLog("Entering BACKUP STATE", START);
            VrrpLab.VipWatch tgVip = lab.watchVip("tg");
            tg.kill();
            ka.awaitLog("Entering MASTER STATE", Duration.ofSeconds(10));
            assertThat(lab.hasVip("tg")).as("a permanent VIP outlives a SIGKILL (keepalived's way)").isTrue();

            long restarted = System.nanoTime();
            VrrpLab.Speaker tg2 = lab.tiergate("tg", 50, "1s", "vip_lifetime: forever"); // stays backup
            long gone = tgVip.await(false, restarted, START);
            tg2.awaitState("BACKUP", START);
            System.out.printf("restart of a SIGKILLed master (permanent VIP): leftover removed %.0f ms after exec%n",
                    VrrpLab.ms(gone - restarted));
            assertThat(lab.hasVip("tg")).isFalse();
            assertThat(lab.hasVip("ka")).isTrue();
        }
    }
}
