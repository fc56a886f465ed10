package io.tiergate.proxy.upstream;

import io.tiergate.proxy.config.Balance;
import io.tiergate.proxy.config.UpstreamConfig;
import io.tiergate.shared.config.HostPort;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;

/** The balancers and passive health through {@link UpstreamGroup#pick}, as a request sees them. */
class BalancerTest {
    private static UpstreamConfig.Server server(String name, int weight, int maxFails, Duration failTimeout,
                                                boolean backup) {
        return new UpstreamConfig.Server(HostPort.parse(name + ":80", -1), weight, maxFails, failTimeout, backup);
    }

    private static UpstreamGroup group(Balance balance, UpstreamConfig.Server... servers) {
        return new UpstreamGroup(new UpstreamConfig("app", balance, UpstreamConfig.HashKey.URI, Duration.ofSeconds(4),
                128, List.of(servers)));
    }

    private static UpstreamGroup weighted(Balance balance, int... weights) {
        List<UpstreamConfig.Server> s = new ArrayList<>();
        for (int i = 0; i < weights.length; i++) {
            s.add(server(Character.toString('a' + i), weights[i], 1, Duration.ofSeconds(10), false));
        }
        return group(balance, s.toArray(UpstreamConfig.Server[]::new));
    }

    /** Picks and immediately finishes one attempt; returns the server's host. */
    private static String pickOne(UpstreamGroup g, String key) {
        Peer p = g.pick(Set.of(), key);
        g.release(p, false, 1_000_000);
        return p.config().address().host();
    }

    @Test
    void smoothWeightedRoundRobinSpreadsWeights511LikeNginx() {
        UpstreamGroup g = weighted(Balance.ROUND_ROBIN, 5, 1, 1);
        StringBuilder seq = new StringBuilder();
        for (int i = 0; i < 14; i++) {
            seq.append(pickOne(g, null));
        }
        assertThat(seq.toString()).as("nginx's smooth sequence for weights 5,1,1, twice").isEqualTo("aabacaaaabacaa");
        Map<String, Integer> n = new HashMap<>();
        for (int i = 0; i < 700; i++) {
            n.merge(pickOne(g, null), 1, Integer::sum);
        }
        assertThat(n).as("exact 5:1:1 shares over whole cycles").containsEntry("a", 500).containsEntry("b", 100)
                .containsEntry("c", 100);
    }

    @Test
    void leastConnPicksTheServerWithFewestActiveRequestsPerWeight() {
        UpstreamGroup g = weighted(Balance.LEAST_CONN, 1, 1, 2);
        Peer first = g.pick(Set.of(), null);
        assertThat(first.key()).as("all idle: c (weight 2) wins the SWRR tie-break").isEqualTo("c:80");
        Peer second = g.pick(Set.of(), null);
        Peer third = g.pick(Set.of(), null);
        assertThat(Set.of(second.key(), third.key())).as("then the idle a and b").containsExactlyInAnyOrder("a:80", "b:80");
        Peer fourth = g.pick(Set.of(), null);
        assertThat(fourth.key()).as("c has 1 active at weight 2 (0.5 per weight) < 1 for a and b").isEqualTo("c:80");
        g.release(second, false, 1);
        assertThat(g.pick(Set.of(), null).key()).as("the server whose request just finished is least loaded")
                .isEqualTo(second.key());
    }

    @Test
    void p2cEwmaPrefersTheFastServer() {
        UpstreamGroup g = weighted(Balance.P2C_EWMA, 1, 1, 1);
        Map<String, Integer> n = new HashMap<>();
        for (int i = 0; i < 3000; i++) {
            Peer p = g.pick(Set.of(), null);
            long latency = p.key().equals("a:80") ? 1_000_000 : 40_000_000; // a: 1 ms, b and c: 40 ms
            g.release(p, false, latency);
            n.merge(p.key(), 1, Integer::sum);
        }
        // a wins every draw it is in (2 of 3 draws); b vs c draws split between them.
        assertThat(n.get("a:80")).as("the fast server gets most traffic: " + n).isGreaterThan(1800);
        assertThat(n.getOrDefault("b:80", 0) + n.getOrDefault("c:80", 0)).as("slow servers still get probed")
                .isGreaterThan(0);
    }

    @Test
    void maglevHashKeepsAKeyOnOneServerAndMovesAboutOneNthWhenAServerGoes() {
        UpstreamGroup g = group(Balance.HASH, server("a", 1, 0, Duration.ofSeconds(1), false),
                server("b", 1, 0, Duration.ofSeconds(1), false), server("c", 1, 0, Duration.ofSeconds(1), false),
                server("d", 1, 0, Duration.ofSeconds(1), false), server("e", 1, 0, Duration.ofSeconds(1), false));
        Map<String, String> before = new HashMap<>();
        for (int i = 0; i < 10_000; i++) {
            String key = "/objects/" + i;
            before.put(key, pickOne(g, key));
            assertThat(pickOne(g, key)).as("the same key lands on the same server").isEqualTo(before.get(key));
        }
        Peer c = g.peers().stream().filter(p -> p.key().equals("c:80")).findFirst().orElseThrow();
        c.setActiveHealthy(false);
        int moved = 0;
        int movedNotFromC = 0;
        for (var e : before.entrySet()) {
            String now = pickOne(g, e.getKey());
            if (!now.equals(e.getValue())) {
                moved++;
                if (!e.getValue().equals("c")) {
                    movedNotFromC++;
                }
            }
            assertThat(now).as("nothing goes to the removed server").isNotEqualTo("c");
        }
        assertThat(moved / 10_000.0).as("about 1/N of the keys move (those of the removed server)")
                .isBetween(0.15, 0.26);
        assertThat(movedNotFromC / 10_000.0).as("keys of the remaining servers (almost) all stay").isLessThan(0.03);
    }

    @Test
    void backupsServeOnlyWhileEveryPrimaryIsDown() {
        UpstreamGroup g = group(Balance.ROUND_ROBIN, server("a", 1, 1, Duration.ofSeconds(10), false),
                server("b", 1, 1, Duration.ofSeconds(10), false), server("z", 1, 1, Duration.ofSeconds(10), true));
        for (int i = 0; i < 10; i++) {
            assertThat(pickOne(g, null)).as("primaries only while they are up").isNotEqualTo("z");
        }
        g.peers().get(0).setActiveHealthy(false);
        g.peers().get(1).setActiveHealthy(false);
        assertThat(pickOne(g, null)).as("every primary down: the backup").isEqualTo("z");
        g.peers().get(1).setActiveHealthy(true);
        assertThat(pickOne(g, null)).as("a primary is back: the backup is idle again").isEqualTo("b");
    }

    @Test
    void passiveHealthTakesAServerOutAfterMaxFailsWithinFailTimeoutAndBackAfterIt() throws Exception {
        UpstreamGroup g = group(Balance.ROUND_ROBIN, server("a", 1, 2, Duration.ofMillis(300), false),
                server("b", 1, 2, Duration.ofMillis(300), false));
        Peer a = g.peers().get(0);
        g.pick(Set.of(), null); // counts a as active; released below
        assertThat(g.release(a, true, 1)).as("one failure of max_fails 2: still in").isFalse();
        g.pick(Set.of(), null);
        assertThat(g.release(a, true, 1)).as("second failure within fail_timeout: ejected").isTrue();
        for (int i = 0; i < 6; i++) {
            assertThat(pickOne(g, null)).as("an ejected server gets nothing for fail_timeout").isEqualTo("b");
        }
        assertThat(g.pick(Set.of(g.peers().get(1)), null)).as("and is not offered for a retry either").isNull();
        Thread.sleep(400);
        Set<String> seen = new java.util.HashSet<>();
        for (int i = 0; i < 4; i++) {
            seen.add(pickOne(g, null));
        }
        assertThat(seen).as("after fail_timeout it is back in rotation").contains("a");
    }

    @Test
    void aMaxFailsEjectionIsOneWarnNamingTheServerAndTheWindow() {
        ch.qos.logback.classic.Logger logger = (ch.qos.logback.classic.Logger) org.slf4j.LoggerFactory
                .getLogger(UpstreamGroup.class);
        ch.qos.logback.core.read.ListAppender<ch.qos.logback.classic.spi.ILoggingEvent> logs =
                new ch.qos.logback.core.read.ListAppender<>();
        logs.start();
        logger.addAppender(logs);
        try {
            UpstreamGroup g = group(Balance.ROUND_ROBIN, server("a", 1, 2, Duration.ofSeconds(10), false),
                    server("b", 1, 2, Duration.ofSeconds(10), false));
            Peer a = g.peers().get(0);
            for (int i = 0; i < 6; i++) { // two to eject, then four more failures of requests already under way
                g.pick(Set.of(), null);
                g.release(a, true, 1);
            }
            assertThat(logs.list).as("one line per ejection, not per failure").singleElement().satisfies(e -> {
                assertThat(e.getLevel()).isEqualTo(ch.qos.logback.classic.Level.WARN);
                assertThat(e.getFormattedMessage()).isEqualTo("upstream 'app' server a:80 ejected: 2 failure(s) "
                        + "within 10s; back in rotation after 10s");
            });
        } finally {
            logger.detachAppender(logs);
        }
    }
}
