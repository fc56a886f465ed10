package io.tiergate.director.bgp;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.tiergate.director.engine.BgpStatus;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * Attached mode against a real BIRD 2 that "the operator" runs: its bird.conf includes the routes file tiergate
 * writes. The BIRD has no BGP protocol here (so it opens no port and talks to nobody); what it would export is its
 * routing table, which is what this test reads back over the control socket. Managed mode with real sessions and a
 * router is {@code ScaleOutIT}.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class BgpSpeakerAttachedTest {
    private static final Path BIRD = Path.of("/usr/sbin/bird");
    private Path dir;
    private Process bird;
    private Path socket;
    private Path routes;

    @BeforeEach
    void startOperatorsBird() throws Exception {
        Assumptions.assumeTrue(Files.isExecutable(BIRD), "skipped: BIRD 2 not installed (apt-get install bird2)");
        dir = Files.createTempDirectory("tg-bgp-attach");
        socket = dir.resolve("bird.ctl");
        routes = dir.resolve("tiergate-vips.conf");
        Files.writeString(routes, "");
        Path conf = dir.resolve("bird.conf");
        Files.writeString(conf, "router id 192.0.2.1;\nprotocol device { }\ninclude \"" + routes + "\";\n");
        bird = new ProcessBuilder(BIRD.toString(), "-f", "-c", conf.toString(), "-s", socket.toString(), "-P",
                dir.resolve("bird.pid").toString()).redirectErrorStream(true)
                .redirectOutput(dir.resolve("bird.log").toFile()).start();
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (!Files.exists(socket)) {
            assertThat(System.nanoTime()).as("BIRD opens its control socket").isLessThan(end);
            Thread.sleep(20);
        }
    }

    @AfterEach
    void stop() throws Exception {
        if (bird != null) {
            bird.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
        }
        if (dir != null) {
            try (var s = Files.walk(dir)) {
                s.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
    }

    private BgpConfig config() {
        return new BgpConfig(65010, "192.0.2.1", List.of(new BgpConfig.Neighbor("192.0.2.254", 65000, 179,
                Optional.empty())), BgpConfig.DEFAULT_HOLD, BgpConfig.DEFAULT_KEEPALIVE, Optional.empty(),
                List.of(new BgpConfig.Community(65010, 7)), Optional.of(5L), Duration.ofMillis(200),
                new BgpConfig.Bird(BIRD, dir, Optional.of(socket), Optional.of(routes), false));
    }

    private String table() throws Exception {
        StringBuilder sb = new StringBuilder();
        for (BirdControl.Line l : BirdControl.run(socket, "show route")) {
            sb.append(l.text()).append('\n');
        }
        return sb.toString();
    }

    private void waitFor(String what, java.util.concurrent.Callable<Boolean> cond) throws Exception {
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (!cond.call()) {
            if (System.nanoTime() > end) {
                throw new AssertionError("timed out waiting until " + what + "; table:\n" + table());
            }
            Thread.sleep(20);
        }
    }

    @Test
    void announcesWhatCanBeServedAndWithdrawsTheRest() throws Exception {
        AtomicReference<Set<String>> servable = new AtomicReference<>(Set.of());
        SimpleMeterRegistry registry = new SimpleMeterRegistry();
        BgpSpeaker s = BgpSpeaker.start(config(), List.of("198.51.100.10/32", "198.51.100.20/32"),
                () -> CompletableFuture.completedFuture(servable.get()), registry);
        try {
            Thread.sleep(300);
            assertThat(table()).as("nothing is announced before a real server is usable").doesNotContain("198.51.100.");
            assertThat(s.status().vips().get(0).reason())
                    .isEqualTo("the director cannot serve (no usable real server, or the dataplane failed)");

            servable.set(Set.of("198.51.100.10/32", "198.51.100.20/32"));
            waitFor("both VIPs are in the operator's table", () -> table().contains("198.51.100.10/32")
                    && table().contains("198.51.100.20/32"));
            assertThat(Files.readString(routes)).contains("bgp_community.add((65010, 7));", "bgp_med = 5;");

            servable.set(Set.of("198.51.100.20/32"));
            waitFor("the VIP without a usable real server is withdrawn", () -> !table().contains("198.51.100.10/32"));
            assertThat(table()).contains("198.51.100.20/32");
            BgpStatus st = s.status();
            assertThat(st.mode()).isEqualTo("attached");
            assertThat(st.withdrawals()).isEqualTo(1);
            assertThat(st.vips()).extracting(BgpStatus.Vip::announced).containsExactly(false, true);
            assertThat(st.vips().get(0).reason()).isEqualTo("no usable real server for this VIP");
            assertThat(registry.get("tiergate_director_bgp_announced").tag("vip", "198.51.100.10/32").gauge().value())
                    .isZero();
            assertThat(registry.get("tiergate_director_bgp_withdrawals").tag("vip", "198.51.100.10/32").counter().count())
                    .isEqualTo(1);

            // A reload that drops the .20 service and adds .30: .20 is withdrawn even though it is servable.
            servable.set(Set.of("198.51.100.20/32", "198.51.100.30/32"));
            s.prefixes(List.of("198.51.100.10/32", "198.51.100.30/32"));
            waitFor("the reloaded VIP list is announced", () -> table().contains("198.51.100.30/32")
                    && !table().contains("198.51.100.20/32"));
            assertThat(registry.get("tiergate_director_bgp_announced").tag("vip", "198.51.100.20/32").gauge().value())
                    .isZero();
            assertThat(s.status().vips()).extracting(BgpStatus.Vip::prefix)
                    .containsExactly("198.51.100.10/32", "198.51.100.30/32");

            s.drainAll().get(5, TimeUnit.SECONDS);
            assertThat(table()).as("drain --all withdraws everything at once").doesNotContain("198.51.100.");
            assertThat(s.status().drained()).isTrue();
            s.enableAll().get(5, TimeUnit.SECONDS);
            assertThat(table()).contains("198.51.100.30/32");

            long t0 = System.nanoTime();
            s.withdrawForShutdown();
            assertThat(table()).as("shutdown withdraws before it waits").doesNotContain("198.51.100.");
            assertThat(System.nanoTime() - t0).as("then waits convergence_delay").isGreaterThanOrEqualTo(200_000_000L);
        } finally {
            s.close();
        }
        assertThat(bird.isAlive()).as("the operator's BIRD is theirs: closing the director leaves it running").isTrue();
    }

    @Test
    void aBusyEngineWithdrawsNothingAClosedOneWithdrawsEverything() throws Exception {
        AtomicReference<CompletableFuture<Set<String>>> answer =
                new AtomicReference<>(CompletableFuture.completedFuture(Set.of("198.51.100.10/32")));
        BgpSpeaker s = BgpSpeaker.start(config(), List.of("198.51.100.10/32"), answer::get, new SimpleMeterRegistry());
        try {
            waitFor("the VIP is announced", () -> table().contains("198.51.100.10/32"));
            answer.set(new CompletableFuture<>()); // an engine step that takes longer than the poll waits
            Thread.sleep(3000);
            assertThat(table()).as("a slow engine step is not a reason to withdraw").contains("198.51.100.10/32");
            answer.set(CompletableFuture.failedFuture(new IllegalStateException("the director is closed")));
            waitFor("a closed engine withdraws", () -> !table().contains("198.51.100.10/32"));
        } finally {
            s.close();
        }
    }

    @Test
    void aBirdThatIsNotThereIsAClearError() throws Exception {
        BgpConfig c = config();
        BgpConfig wrong = new BgpConfig(c.localAs(), c.routerId(), c.neighbors(), c.holdTime(), c.keepaliveTime(),
                c.bfd(), c.communities(), c.med(), c.convergenceDelay(),
                new BgpConfig.Bird(BIRD, dir, Optional.of(dir.resolve("nope.ctl")), Optional.of(routes), false));
        assertThatThrownBy(() -> BgpSpeaker.start(wrong, List.of("198.51.100.10/32"),
                () -> CompletableFuture.completedFuture(Set.of()), new SimpleMeterRegistry()))
                .isInstanceOf(BgpSpeaker.BgpException.class)
                .hasMessageContaining("cannot reconfigure the BIRD at " + dir.resolve("nope.ctl"))
                .hasMessageContaining("does its bird.conf include " + routes);
    }
}
