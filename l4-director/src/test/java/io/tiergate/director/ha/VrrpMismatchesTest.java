package io.tiergate.director.ha;

import org.junit.jupiter.api.Test;

import java.time.Duration;

import static org.assertj.core.api.Assertions.assertThat;

class VrrpMismatchesTest {
    private static final long S = 1_000_000_000L;
    private static final int PEER = (10 << 24) | 2;

    @Test
    void logsOncePerPeerAndCauseThenAtMostOnceAMinuteWhileItLasts() {
        VrrpMismatches m = new VrrpMismatches(42);
        assertThat(m.report(0, PEER, VrrpMismatches.Cause.VERSION, false, () -> "v2")).as("first: logged").isTrue();
        assertThat(m.report(S, PEER, VrrpMismatches.Cause.VERSION, false, () -> "v2")).isFalse();
        assertThat(m.report(S, PEER, VrrpMismatches.Cause.INTERVAL, false, () -> "1s"))
                .as("another cause from the same peer is its own line").isTrue();
        assertThat(m.report(S, PEER + 1, VrrpMismatches.Cause.VERSION, false, () -> "v2"))
                .as("another peer is its own line").isTrue();
        for (long t = 2; t < 60; t++) {
            assertThat(m.report(t * S, PEER, VrrpMismatches.Cause.VERSION, false, () -> "v2")).isFalse();
        }
        assertThat(m.report(60 * S, PEER, VrrpMismatches.Cause.VERSION, false, () -> "v2"))
                .as("a minute after the last line").isTrue();
        assertThat(m.totals()).containsEntry("version", 62L) // 61 from PEER, 1 from PEER + 1
                .containsEntry("interval", 1L).containsEntry("vrid", 0L);
    }

    @Test
    void aPeerBecomingMasterForOurVipsIsReportedAtOnceAsSplitBrain() {
        VrrpMismatches m = new VrrpMismatches(42);
        m.report(0, PEER, VrrpMismatches.Cause.VRID, false, () -> "backup in vrid 43");
        assertThat(m.report(S, PEER, VrrpMismatches.Cause.VRID, true, () -> "master in vrid 43")).isTrue();
        assertThat(m.active(S)).singleElement().satisfies(x -> {
            assertThat(x.foreignMaster()).isTrue();
            assertThat(x.peer()).isEqualTo("10.0.0.2");
            assertThat(x.cause()).isEqualTo("vrid");
            assertThat(x.detail()).isEqualTo("master in vrid 43");
            assertThat(x.adverts()).isEqualTo(2);
        });
    }

    @Test
    void aMismatchEndsAfterTheQuietTimeAndIsLoggedAgainWhenItReturns() {
        VrrpMismatches m = new VrrpMismatches(42);
        m.report(0, PEER, VrrpMismatches.Cause.CHECKSUM, false, () -> "bad");
        long quiet = VrrpMismatches.QUIET.toNanos();
        assertThat(m.active(quiet - 1)).hasSize(1);
        assertThat(m.active(quiet)).isEmpty();
        m.expire(quiet);
        assertThat(m.report(quiet + S, PEER, VrrpMismatches.Cause.CHECKSUM, false, () -> "bad")).isTrue();
        assertThat(m.active(quiet + S).get(0).lastSeenAgo()).isEqualTo(Duration.ZERO);
        assertThat(m.totals()).containsEntry("checksum", 2L);
    }

    @Test
    void aSilentForeignMasterStaysReportedUntilItSaysPriorityZero() {
        VrrpMismatches m = new VrrpMismatches(42);
        m.report(0, PEER, VrrpMismatches.Cause.VERSION, true, () -> "v2 master");
        long later = VrrpMismatches.QUIET.toNanos() * 3;
        m.expire(later);
        assertThat(m.active(later)).as("a quiet keepalived master still holds the VIPs").hasSize(1);
        m.left(PEER);
        assertThat(m.active(later)).isEmpty();
    }
}
