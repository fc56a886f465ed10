package io.tiergate.director.ha;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/** keepalived-style track_script and track_interface, with keepalived 2.2.7 or Tiergate as the peer. */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
@VrrpNeedsNamespaces(tools = "keepalived")
class VrrpTrackNamespaceTest {
    private static final Duration START = Duration.ofSeconds(20);

    private static String script(String name, String command, String extra) {
        return "track_script:\n  - {name: " + name + ", script: " + command + ", interval: 200ms, " + extra + "}";
    }

    @Test
    void aFailingTrackScriptLowersThePriorityAndHandsTheVipToKeepalivedThenTakesItBack() throws Exception {
        try (VrrpLab lab = new VrrpLab("tg", "ka")) {
            Path flag = Files.createFile(lab.dir.resolve("healthy.flag"));
            VrrpLab.Speaker tg = lab.tiergate("tg", 200,
                    script("chk_flag", "[/usr/bin/test, -f, " + flag + "]", "fall: 2, rise: 2, weight: -150"));
            tg.awaitState("MASTER", START);
            VrrpLab.Keepalived ka = lab.keepalived("ka", 100, 0.05, false);
            ka.awaitLog("Entering BACKUP STATE", START);

            Files.delete(flag);
            long failed = System.nanoTime();
            ka.awaitLog("Entering MASTER STATE", Duration.ofSeconds(5));
            tg.awaitState("BACKUP", Duration.ofSeconds(2));
            System.out.printf("track_script failure to keepalived MASTER: %.0f ms (interval 200 ms, fall 2)%n",
                    VrrpLab.ms(System.nanoTime() - failed));
            assertThat(tg.status()).startsWith("STATUS BACKUP priority=50 ");
            assertThat(tg.logged("track_script chk_flag FAILED 2 time(s) in a row (exit 1): -150 applied")).isTrue();
            assertThat(lab.hasVip("tg")).isFalse();

            Files.createFile(flag);
            tg.awaitState("MASTER", Duration.ofSeconds(5));
            assertThat(tg.status()).startsWith("STATUS MASTER priority=200 ");
        }
    }

    @Test
    void aHangingScriptIsKilledAtItsTimeoutAndNeverDelaysTheAdverts() throws Exception {
        try (VrrpLab lab = new VrrpLab("tg", "ka")) {
            VrrpLab.Speaker tg = lab.tiergate("tg", 200,
                    script("chk_hang", "[/bin/sleep, '60']", "timeout: 100ms, weight: -10"));
            tg.awaitState("MASTER", START);
            VrrpLab.Keepalived ka = lab.keepalived("ka", 100, 0.05, false);
            ka.awaitLog("Entering BACKUP STATE", START);
            Thread.sleep(3_000); // 15 hung checks, 60 adverts
            assertThat(tg.logged("track_script chk_hang FAILED 1 time(s) in a row (timed out after 100 ms)")).isTrue();
            assertThat(tg.status()).startsWith("STATUS MASTER priority=190 ");
            assertThat(ka.logContains("Entering MASTER STATE")).as("keepalived never missed an advert").isFalse();
            assertThat(VrrpLab.run("ip", "netns", "pids", lab.ns("tg")).lines().count())
                    .as("killed checks don't pile up: the JVM and at most one sleep").isLessThanOrEqualTo(3);
        }
    }

    @Test
    void aTrackedInterfaceWithoutWeightGoesToFaultWhenItLosesCarrier() throws Exception {
        try (VrrpLab lab = new VrrpLab("a", "b")) {
            VrrpLab.run("ip", "-n", lab.ns("a"), "link", "add", "tk0", "type", "veth", "peer", "name", "tk1");
            VrrpLab.run("ip", "-n", lab.ns("a"), "link", "set", "tk0", "up");
            VrrpLab.run("ip", "-n", lab.ns("a"), "link", "set", "tk1", "up");
            VrrpLab.Speaker a = lab.tiergate("a", 200, "track_interface: [tk0]");
            VrrpLab.Speaker b = lab.tiergate("b", 100, "");
            VrrpLab.awaitElection(a, b, START);

            VrrpLab.run("ip", "-n", lab.ns("a"), "link", "set", "tk1", "down"); // tk0 stays up but loses carrier
            a.awaitState("FAULT", Duration.ofSeconds(3));
            b.awaitState("MASTER", Duration.ofSeconds(2));
            assertThat(a.logged("track_interface tk0 is DOWN (FAULT)")).isTrue();
            assertThat(lab.hasVip("a")).isFalse();

            VrrpLab.run("ip", "-n", lab.ns("a"), "link", "set", "tk1", "up");
            a.awaitState("MASTER", Duration.ofSeconds(5));
            b.awaitState("BACKUP", Duration.ofSeconds(2));
        }
    }
}
