package io.tiergate.director.engine;

import io.tiergate.director.config.DirectorConfig;
import io.tiergate.director.dataplane.Changeset;
import io.tiergate.director.dataplane.DataplaneKind;
import io.tiergate.director.dataplane.DataplaneService;
import io.tiergate.director.dataplane.Destination;
import io.tiergate.director.dataplane.fake.FakeDataplane;
import io.tiergate.director.model.ForwardingMethod;
import io.tiergate.director.model.OnFailure;
import io.tiergate.director.model.Persistence;
import io.tiergate.director.model.Protocol;
import io.tiergate.director.model.RealServer;
import io.tiergate.director.model.Scheduler;
import io.tiergate.director.model.ServiceKey;
import io.tiergate.director.model.VirtualService;
import io.tiergate.shared.config.HostPort;
import io.tiergate.shared.health.HealthCheck;
import io.tiergate.shared.health.HealthState;
import io.tiergate.shared.health.HealthTarget;
import io.tiergate.shared.health.HealthTransition;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.net.UnknownHostException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class EngineTest {
    static final ServiceKey WEB = ServiceKey.of(Protocol.TCP, "10.0.0.100", 80);
    final FakeDataplane kernel = new FakeDataplane();
    final RecordingMonitor monitor = new RecordingMonitor();
    final List<Engine> engines = new ArrayList<>();

    static final class RecordingMonitor implements HealthMonitor {
        final Map<String, HealthTarget> targets = new ConcurrentHashMap<>();

        @Override
        public void watch(HealthTarget target) {
            targets.put(target.id(), target);
        }

        @Override
        public void unwatch(String id) {
            targets.remove(id);
        }
    }

    static RealServer rs(String addr, int weight) {
        return new RealServer(HostPort.parse(addr, 80), weight, Optional.of(HealthCheck.tcp()));
    }

    static VirtualService web(OnFailure onFailure, int quorum, Optional<HostPort> sorry, RealServer... servers) {
        return new VirtualService("web", WEB, Scheduler.WEIGHTED_ROUND_ROBIN, ForwardingMethod.DIRECT_ROUTE,
                Persistence.NONE, List.of(servers), sorry, quorum, onFailure, false);
    }

    static VirtualService web(RealServer... servers) {
        return web(OnFailure.WEIGHT0, 1, Optional.empty(), servers);
    }

    Engine start(VirtualService... services) throws Exception {
        return start(Resolver.SYSTEM, services);
    }

    Engine start(Resolver resolver, VirtualService... services) throws Exception {
        Engine e = Engine.start(DirectorConfig.of(DataplaneKind.FAKE, List.of(services)), () -> kernel, monitor,
                resolver, "test");
        engines.add(e);
        return e;
    }

    @AfterEach
    void close() {
        engines.forEach(Engine::close);
    }

    List<String> dests(ServiceKey key) {
        DataplaneService s = kernel.table().get(key);
        return s == null ? List.of() : s.destinations().stream().map(d -> d.id() + "@" + d.weight()).toList();
    }

    static HealthTransition down(String id) {
        return new HealthTransition(id, HealthState.UP, HealthState.DOWN, "connect refused", System.nanoTime());
    }

    static HealthTransition up(String id) {
        return new HealthTransition(id, HealthState.DOWN, HealthState.UP, "ok", System.nanoTime());
    }

    @Test
    void startProgramsEveryServiceAndWatchesEveryRealServer() throws Exception {
        start(web(rs("10.0.0.11", 1), rs("10.0.0.12", 2)));
        assertThat(dests(WEB)).as("both real servers are in the dataplane with their weights")
                .containsExactly("10.0.0.11:80@1", "10.0.0.12:80@2");
        assertThat(monitor.targets.keySet()).containsExactlyInAnyOrder("web/10.0.0.11:80", "web/10.0.0.12:80");
    }

    @Test
    void aRestartedDirectorChangesNothingThatIsAlreadyRight() throws Exception {
        VirtualService svc = web(rs("10.0.0.11", 1), rs("10.0.0.12", 2));
        Engine first = start(svc);
        first.close();
        int before = kernel.applied().size();
        Engine second = start(svc);
        assertThat(kernel.applied()).as("a restart must not touch an identical kernel table (no flush, no re-add)")
                .hasSize(before);
        assertThat(second.repair().join().changed()).isFalse();
    }

    @Test
    void oneChangedServiceIsTheOnlyOneApplied() throws Exception {
        VirtualService a = web(rs("10.0.0.11", 1));
        VirtualService b = new VirtualService("api", ServiceKey.of(Protocol.TCP, "10.0.0.100", 443), Scheduler.MAGLEV,
                ForwardingMethod.DIRECT_ROUTE, Persistence.NONE, List.of(rs("10.0.0.21:443", 1)), Optional.empty(), 1,
                OnFailure.WEIGHT0, false);
        Engine e = start(a, b);
        DirectorConfig next = DirectorConfig.of(DataplaneKind.FAKE, List.of(web(rs("10.0.0.11", 5)), b));
        StepReport r = e.reload(next).join();
        assertThat(r.upserts()).as("only the service whose weight changed is re-applied").isEqualTo(1);
        Changeset last = kernel.applied().get(kernel.applied().size() - 1);
        assertThat(last.upserts()).extracting(DataplaneService::key).containsExactly(WEB);
        assertThat(last.deletes()).isEmpty();
    }

    @Test
    void aServiceRemovedFromConfigIsDeleted() throws Exception {
        Engine e = start(web(rs("10.0.0.11", 1)));
        e.reload(DirectorConfig.of(DataplaneKind.FAKE, List.of())).join();
        assertThat(kernel.table()).as("the service left the config, so it leaves the dataplane").isEmpty();
        assertThat(monitor.targets).as("and its real servers are no longer probed").isEmpty();
    }

    @Test
    void driftIsRepaired() throws Exception {
        Engine e = start(web(rs("10.0.0.11", 1)));
        kernel.flush(); // someone ran `nft flush ruleset`
        StepReport r = e.repair().join();
        assertThat(r.upserts()).isEqualTo(1);
        assertThat(dests(WEB)).as("the repair tick puts the service back").containsExactly("10.0.0.11:80@1");
    }

    @Test
    void aFailedServerGoesToWeightZeroAndComesBack() throws Exception {
        Engine e = start(web(rs("10.0.0.11", 1), rs("10.0.0.12", 2)));
        e.onHealth(down("web/10.0.0.12:80")).join();
        assertThat(dests(WEB)).as("on_failure weight0 keeps the server with weight 0 in the same step")
                .containsExactly("10.0.0.11:80@1", "10.0.0.12:80@0");
        e.onHealth(up("web/10.0.0.12:80")).join();
        assertThat(dests(WEB)).containsExactly("10.0.0.11:80@1", "10.0.0.12:80@2");
    }

    @Test
    void onFailureRemoveTakesTheServerOut() throws Exception {
        Engine e = start(web(OnFailure.REMOVE, 1, Optional.empty(), rs("10.0.0.11", 1), rs("10.0.0.12", 1)));
        e.onHealth(down("web/10.0.0.11:80")).join();
        assertThat(dests(WEB)).as("on_failure remove deletes the failed server").containsExactly("10.0.0.12:80@1");
    }

    @Test
    void belowQuorumTheSorryServerTakesNewTraffic() throws Exception {
        Engine e = start(web(OnFailure.WEIGHT0, 2, Optional.of(HostPort.parse("10.0.0.50:80", 80)),
                rs("10.0.0.11", 1), rs("10.0.0.12", 1)));
        e.onHealth(down("web/10.0.0.11:80")).join();
        assertThat(dests(WEB)).as("1 healthy < quorum 2: only the sorry server gets weight")
                .containsExactly("10.0.0.11:80@0", "10.0.0.12:80@0", "10.0.0.50:80@1");
        DirectorStatus st = e.status().join();
        assertThat(st.services().get(0).sorryActive()).isTrue();
        assertThat(st.services().get(0).quorumMet()).isFalse();
        e.onHealth(up("web/10.0.0.11:80")).join();
        assertThat(dests(WEB)).containsExactly("10.0.0.11:80@1", "10.0.0.12:80@1");
    }

    @Test
    void drainKeepsTheServerAtWeightZeroUntilEnabled() throws Exception {
        Engine e = start(web(rs("10.0.0.11", 1), rs("10.0.0.12", 4)));
        e.drain("web", "10.0.0.12:80").join();
        assertThat(dests(WEB)).containsExactly("10.0.0.11:80@1", "10.0.0.12:80@0");
        assertThat(e.status().join().services().get(0).realServers().get(1).drained()).isTrue();
        e.enable("web", "10.0.0.12:80").join();
        assertThat(dests(WEB)).containsExactly("10.0.0.11:80@1", "10.0.0.12:80@4");
    }

    @Test
    void drainOfAnUnknownServerSaysWhatExists() throws Exception {
        Engine e = start(web(rs("10.0.0.11", 1)));
        assertThatThrownBy(() -> e.drain("web", "10.9.9.9:80").join())
                .hasCauseInstanceOf(UnknownRealServerException.class)
                .hasMessageContaining("service 'web' has no real server '10.9.9.9:80' (real servers: 10.0.0.11:80)");
        assertThatThrownBy(() -> e.drain("api", "10.0.0.11:80").join())
                .hasMessageContaining("no service 'api' (services: web)");
    }

    @Test
    void aDnsNameBecomesOneMemberPerAddress() throws Exception {
        Map<String, List<String>> dns = new ConcurrentHashMap<>(Map.of("proxies.local", List.of("10.0.0.31", "10.0.0.32")));
        Resolver r = host -> {
            List<String> a = dns.get(host);
            if (a == null) {
                throw new UnknownHostException(host);
            }
            return a;
        };
        start(r, web(new RealServer(HostPort.parse("proxies.local:80", 80), 2, Optional.empty())));
        assertThat(dests(WEB)).containsExactly("10.0.0.31:80@2", "10.0.0.32:80@2");
    }

    @Test
    void aServerJoiningARunningDirectorGetsNoTrafficBeforeItsFirstVerdict() throws Exception {
        Engine e = start(web(OnFailure.REMOVE, 1, Optional.empty(), rs("10.0.0.11", 1)));
        assertThat(dests(WEB)).as("at start an unprobed server keeps its place (a restart moves no flow)")
                .containsExactly("10.0.0.11:80@1");
        e.reload(DirectorConfig.of(DataplaneKind.FAKE, List.of(web(OnFailure.REMOVE, 1, Optional.empty(),
                rs("10.0.0.11", 1), rs("10.0.0.12", 1))))).join();
        assertThat(monitor.targets).containsKey("web/10.0.0.12:80");
        assertThat(dests(WEB)).as("a newcomer (reload, or a scaled-up container in DNS) may not listen yet")
                .containsExactly("10.0.0.11:80@1");
        assertThat(e.status().join().services().get(0).realServers().get(1).health()).isEqualTo("pending");
        e.onHealth(new HealthTransition("web/10.0.0.12:80", HealthState.UNKNOWN, HealthState.UP, "ok",
                System.nanoTime())).join();
        assertThat(dests(WEB)).as("its first passed check puts it in").containsExactly("10.0.0.11:80@1", "10.0.0.12:80@1");
    }

    @Test
    void aVipIsServableForBgpOnceEveryCheckedServerPassedOrTheChecksHadTimeToSettle() throws Exception {
        Engine e = start(web(rs("10.0.0.11", 1), rs("10.0.0.12", 1)));
        java.util.function.Function<String, HealthTransition> first = id ->
                new HealthTransition(id, HealthState.UNKNOWN, HealthState.UP, "ok", System.nanoTime());
        assertThat(e.servableVips().join()).as("nothing probed yet").isEmpty();
        e.onHealth(first.apply("web/10.0.0.11:80")).join();
        assertThat(e.servableVips().join())
                .as("one of two up: joining ECMP now would re-hash flows pinned to the other elsewhere").isEmpty();
        e.onHealth(first.apply("web/10.0.0.12:80")).join();
        assertThat(e.servableVips().join()).as("every check passed").containsExactly("10.0.0.100/32");
        e.onHealth(down("web/10.0.0.12:80")).join();
        assertThat(e.servableVips().join()).as("a server failing later is no reason to withdraw")
                .containsExactly("10.0.0.100/32");

        // A director whose second server never answers still announces, once the checks had time to settle.
        Engine late = start(web(rs("10.0.0.21", 1), rs("10.0.0.22", 1)));
        late.onHealth(first.apply("web/10.0.0.21:80")).join();
        assertThat(late.servableVips().join()).isEmpty();
        long t0 = System.nanoTime();
        long settle = Engine.healthSettle(DirectorConfig.of(DataplaneKind.FAKE, List.of(web(rs("10.0.0.21", 1))))).toNanos();
        while (late.servableVips().join().isEmpty()) {
            assertThat(System.nanoTime() - t0).as("announced after the settle time").isLessThan(settle + 10_000_000_000L);
            Thread.sleep(50);
        }
        assertThat(System.nanoTime() - t0).as("not before it").isGreaterThanOrEqualTo(settle - 1_000_000_000L);
    }

    @Test
    void aFailedApplyIsRetriedByTheRepairTick() throws Exception {
        Engine e = start(web(rs("10.0.0.11", 1)));
        kernel.failNextApply("EBUSY");
        StepReport failed = e.reload(DirectorConfig.of(DataplaneKind.FAKE, List.of(web(rs("10.0.0.11", 7))))).join();
        assertThat(failed.error()).isEqualTo("EBUSY");
        assertThat(e.status().join().lastError()).isEqualTo("EBUSY");
        e.repair().join();
        assertThat(dests(WEB)).as("the next repair applies what failed").containsExactly("10.0.0.11:80@7");
    }

    @Test
    void diffIsMinimal() {
        DataplaneService a = new DataplaneService(WEB, Scheduler.ROUND_ROBIN, ForwardingMethod.NAT, Persistence.NONE,
                false, List.of(new Destination("10.0.0.11", 80, 1)));
        ServiceKey gone = ServiceKey.of(Protocol.UDP, "10.0.0.100", 53);
        Changeset c = Engine.diff(Map.of(WEB, a), Map.of(WEB, a.fingerprint(), gone, "0"));
        assertThat(c.upserts()).as("an identical service is not re-applied").isEmpty();
        assertThat(c.deletes()).containsExactly(gone);
    }

    @Test
    void aPersistentDataplaneFailureIsRetriedWithBackoffLoggedOnceAndFailsReadinessUntilItApplies() throws Exception {
        ch.qos.logback.classic.Logger logger = (ch.qos.logback.classic.Logger) org.slf4j.LoggerFactory.getLogger(Engine.class);
        ch.qos.logback.core.read.ListAppender<ch.qos.logback.classic.spi.ILoggingEvent> logs =
                new ch.qos.logback.core.read.ListAppender<>();
        logs.start();
        logger.addAppender(logs);
        try {
            Engine e = start(web(rs("10.0.0.11", 1)));
            assertThat(e.startError()).isNull();
            assertThat(e.ready()).as("ready once the first step applied").isTrue();

            kernel.failEveryApply("cannot listen on tcp/10.0.0.100:80: Cannot assign requested address");
            kernel.flush(); // the VIP's service vanished: every re-apply now fails the same way
            int before = kernel.applyAttempts();
            e.repair().join();
            assertThat(e.ready()).as("/readyz fails while the dataplane is not programmed").isFalse();
            Thread.sleep(4000); // backoff 0.5 + 1 + 2 s: three retries, not a tight loop
            int tries = kernel.applyAttempts() - before;
            assertThat(tries).as("retried with backoff").isBetween(3, 6);
            List<String> errors = logs.list.stream().filter(l -> l.getLevel() == ch.qos.logback.classic.Level.ERROR)
                    .map(ch.qos.logback.classic.spi.ILoggingEvent::getFormattedMessage).toList();
            assertThat(errors).as("one line for one cause, however many retries").hasSize(1);
            assertThat(errors.get(0)).contains("Cannot assign requested address").contains("retrying with backoff");

            kernel.failEveryApply(null);
            long end = System.nanoTime() + java.util.concurrent.TimeUnit.SECONDS.toNanos(20);
            while (!e.ready() && System.nanoTime() < end) {
                Thread.sleep(50);
            }
            assertThat(e.ready()).as("ready again once a retry applies").isTrue();
            assertThat(kernel.table()).containsKey(WEB);
            assertThat(logs.list).extracting(ch.qos.logback.classic.spi.ILoggingEvent::getFormattedMessage)
                    .anyMatch(m -> m.contains("applies again after"));
        } finally {
            logger.detachAppender(logs);
        }
    }
}
