package io.tiergate.director;

import io.tiergate.director.admin.StatusTable;
import io.tiergate.director.config.DirectorConfig;
import io.tiergate.director.dataplane.Changeset;
import io.tiergate.director.dataplane.Dataplane;
import io.tiergate.director.dataplane.DataplaneException;
import io.tiergate.director.dataplane.DataplaneKind;
import io.tiergate.director.dataplane.DestinationCounters;
import io.tiergate.director.dataplane.fake.FakeDataplane;
import io.tiergate.director.engine.HaStatus;
import io.tiergate.director.ha.VrrpConfig;
import io.tiergate.director.ha.VrrpRoleListener;
import io.tiergate.director.ha.VrrpState;
import io.tiergate.director.ha.VrrpStatus;
import io.tiergate.director.model.ConnectionSync;
import io.tiergate.director.model.ForwardingMethod;
import io.tiergate.director.model.OnFailure;
import io.tiergate.director.model.Persistence;
import io.tiergate.director.model.Protocol;
import io.tiergate.director.model.RealServer;
import io.tiergate.director.model.Role;
import io.tiergate.director.model.Scheduler;
import io.tiergate.director.model.ServiceKey;
import io.tiergate.director.model.VirtualService;
import io.tiergate.shared.config.HostPort;
import io.tiergate.shared.health.HealthCheck;
import io.vertx.core.Vertx;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The director's VRRP wiring with a fake VRRP instance (a real one needs root and an interface; the namespace lab
 * covers that in FullStackIT): health from the engine and the link, role changes as engine events, status, stop.
 */
class DirectorHaTest {
    static final ServiceKey KEY = ServiceKey.of(Protocol.TCP, "10.0.0.100", 80);
    Vertx vertx;
    Director director;
    ServerSocket realServer;
    final FakeHa ha = new FakeHa(FakeHa.DEFAULT);
    final List<FakeHa> created = new CopyOnWriteArrayList<>();
    final RecordingDataplane kernel = new RecordingDataplane();

    /** Records what the director tells VRRP; the test plays VRRP's role changes. */
    /** How many changesets the dataplane has applied (to see what happened before the tables). */
    static final java.util.concurrent.atomic.AtomicInteger tablesProgrammed = new java.util.concurrent.atomic.AtomicInteger();

    static final class FakeHa implements Director.HaInstance {
        static final VrrpConfig DEFAULT = VrrpConfig.of("lo", 77, 150, Duration.ofMillis(50), List.of("10.0.0.100/32"));
        volatile VrrpConfig config;
        final List<VrrpConfig> reconfigured = new CopyOnWriteArrayList<>();
        final List<Boolean> health = new CopyOnWriteArrayList<>();
        final List<Boolean> holds = new CopyOnWriteArrayList<>();
        final List<VrrpRoleListener> listeners = new CopyOnWriteArrayList<>();
        volatile boolean started;
        volatile boolean stopped;
        volatile boolean healthBeforeStart;
        volatile boolean link = true;
        volatile VrrpState state = VrrpState.INIT;
        volatile boolean releasedBeforeTables;

        FakeHa(VrrpConfig config) {
            this.config = config;
        }

        @Override
        public void reconfigure(VrrpConfig next) {
            reconfigured.add(next);
            config = next;
        }

        @Override
        public VrrpConfig config() {
            return config;
        }

        @Override
        public void addListener(VrrpRoleListener listener) {
            listeners.add(listener);
        }

        @Override
        public void releaseVips() {
            releasedBeforeTables = tablesProgrammed.get() == 0;
        }

        @Override
        public void start() {
            healthBeforeStart = !health.isEmpty();
            started = true;
            become(VrrpState.BACKUP);
        }

        @Override
        public void holdPreemption(boolean hold) {
            holds.add(hold);
        }

        @Override
        public void setTrackedHealth(boolean ok) {
            health.add(ok);
        }

        volatile List<io.tiergate.director.ha.VrrpMismatches.Mismatch> mismatches = List.of();
        volatile List<String> tracking = List.of();

        void become(VrrpState to) {
            VrrpState from = state;
            state = to;
            listeners.forEach(l -> l.roleChanged(from, to));
        }

        boolean lastHealth() {
            return health.isEmpty() || health.get(health.size() - 1);
        }

        @Override
        public VrrpStatus status() {
            return new VrrpStatus(config.vrid(), state, lastHealth() ? 150 : 90, Duration.ofMillis(50),
                    Optional.of((java.net.Inet4Address) InetAddress.getLoopbackAddress()), 3, mismatches,
                    java.util.Map.of("vrid", (long) mismatches.size()), tracking);
        }

        @Override
        public boolean linkUp() {
            return link;
        }

        @Override
        public void stop() {
            stopped = true;
        }
    }

    /** The fake dataplane, recording the HA roles the engine gives it. */
    static final class RecordingDataplane implements Dataplane {
        final FakeDataplane inner = new FakeDataplane();
        final List<Role> roles = new CopyOnWriteArrayList<>();

        @Override
        public DataplaneKind kind() {
            return inner.kind();
        }

        @Override
        public Map<ServiceKey, String> read() throws DataplaneException {
            return inner.read();
        }

        @Override
        public void apply(Changeset changes) throws DataplaneException {
            tablesProgrammed.incrementAndGet();
            inner.apply(changes);
        }

        @Override
        public Map<ServiceKey, Map<String, DestinationCounters>> counters() {
            return inner.counters();
        }

        @Override
        public void role(Role role, Optional<ConnectionSync> sync) {
            roles.add(role);
        }

        @Override
        public void close() {
            inner.close();
        }
    }

    @BeforeEach
    void setUp() throws Exception {
        vertx = Vertx.vertx();
        realServer = new ServerSocket();
        realServer.bind(new InetSocketAddress("127.0.0.1", 0));
    }

    @AfterEach
    void tearDown() throws Exception {
        if (director != null) {
            director.close();
        }
        realServer.close();
        vertx.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    }

    DirectorConfig config(boolean sync) {
        HealthCheck check = HealthCheck.tcp(Duration.ofMillis(100), Duration.ofMillis(100), 1, 1);
        VirtualService web = new VirtualService("web", KEY, Scheduler.MAGLEV, ForwardingMethod.DIRECT_ROUTE,
                Persistence.NONE, List.of(new RealServer(new HostPort("127.0.0.1", realServer.getLocalPort()), 1,
                Optional.of(check))), Optional.empty(), 1, OnFailure.REMOVE, false);
        return DirectorConfig.of(DataplaneKind.FAKE, List.of(web))
                .withSync(sync ? Optional.of(new ConnectionSync("lo", 0)) : Optional.empty())
                .withVrrp(Optional.of(ha.config));
    }

    Director start(boolean sync) throws Exception {
        director = Director.start(vertx, config(sync), () -> kernel, "test", c -> ha);
        return director;
    }

    static void await(String what, BooleanSupplier cond) throws InterruptedException {
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (!cond.getAsBoolean()) {
            if (System.nanoTime() > end) {
                throw new AssertionError("timed out waiting until " + what);
            }
            Thread.sleep(10);
        }
    }

    @Test
    void leftoverVipsAreReleasedBeforeAnythingElse() throws Exception {
        tablesProgrammed.set(0);
        start(false);
        assertThat(tablesProgrammed.get()).isPositive();
        assertThat(ha.releasedBeforeTables).as("a SIGKILLed predecessor's VIPs go before the tables are programmed")
                .isTrue();
    }

    @Test
    void readyzFailsWhileVrrpIsInFault() throws Exception {
        director = Director.start(vertx, config(false).withAdmin(Optional.of(new HostPort("127.0.0.1", 0))),
                () -> kernel, "test", c -> ha);
        java.net.http.HttpClient http = java.net.http.HttpClient.newHttpClient();
        java.net.http.HttpRequest readyz = java.net.http.HttpRequest.newBuilder(
                java.net.URI.create("http://127.0.0.1:" + director.adminPort() + "/readyz")).build();
        java.util.function.IntSupplier status = () -> {
            try {
                return http.send(readyz, java.net.http.HttpResponse.BodyHandlers.discarding()).statusCode();
            } catch (Exception e) {
                throw new AssertionError(e);
            }
        };
        ha.become(VrrpState.MASTER);
        assertThat(status.getAsInt()).as("MASTER, tables programmed: ready").isEqualTo(200);
        ha.become(VrrpState.FAULT);
        assertThat(status.getAsInt()).as("FAULT: not ready").isEqualTo(503);
        ha.become(VrrpState.BACKUP);
        assertThat(status.getAsInt()).as("BACKUP can take over: ready").isEqualTo(200);
    }

    @Test
    void vrrpStartsAfterTheTablesAreProgrammedAndIsToldTheHealthFirst() throws Exception {
        start(false);
        assertThat(ha.started).isTrue();
        assertThat(ha.healthBeforeStart).as("the health is known before VRRP starts (no VIP grab while unhealthy)")
                .isTrue();
        assertThat(ha.health).containsExactly(true);
        assertThat(kernel.inner.table()).as("the tables are programmed whatever the role").containsKey(KEY);
    }

    @Test
    void noUsableRealServerMakesTheDirectorUnhealthyAndItsReturnHealthyAgain() throws Exception {
        ch.qos.logback.classic.Logger engineLog = (ch.qos.logback.classic.Logger) org.slf4j.LoggerFactory
                .getLogger(io.tiergate.director.engine.Engine.class);
        ch.qos.logback.core.read.ListAppender<ch.qos.logback.classic.spi.ILoggingEvent> logs =
                new ch.qos.logback.core.read.ListAppender<>();
        logs.start();
        engineLog.addAppender(logs);
        try {
            unhealthyAndBack();
        } finally {
            engineLog.detachAppender(logs);
        }
        assertThat(logs.list).filteredOn(e -> e.getFormattedMessage().startsWith("director UNHEALTHY"))
                .as("an operator must see it: WARN, with the reason").singleElement()
                .satisfies(e -> assertThat(e.getLevel()).isEqualTo(ch.qos.logback.classic.Level.WARN))
                .satisfies(e -> assertThat(e.getFormattedMessage()).contains("quorum not met"));
    }

    private void unhealthyAndBack() throws Exception {
        start(false);
        int port = realServer.getLocalPort();
        realServer.close();
        await("VRRP is told the director is unhealthy", () -> !ha.lastHealth());
        assertThat(director.haStatus().orElseThrow().healthy()).isFalse();
        assertThat(kernel.inner.table()).as("the standby's tables stay (only without a real server)").containsKey(KEY);
        realServer = new ServerSocket();
        realServer.setReuseAddress(true);
        realServer.bind(new InetSocketAddress("127.0.0.1", port));
        await("VRRP is told the director is healthy again", ha::lastHealth);
        assertThat(ha.health).containsExactly(true, false, true);
        await("preemption is held until every real server's check passes, then released",
                () -> ha.holds.equals(List.of(true, false)));
    }

    @Test
    void aFailingDataplaneApplyMakesTheDirectorUnhealthyUntilAStepSucceeds() throws Exception {
        start(false);
        DirectorConfig heavier = config(false).withServices(List.of(withWeight(3)));
        kernel.inner.failNextApply("netlink: EPERM");
        assertThat(director.reload(heavier).error()).contains("EPERM");
        assertThat(ha.lastHealth()).as("the failed apply is reported to VRRP (a real server is still usable)").isFalse();
        assertThat(director.reload(heavier).error()).as("the retry applies").isNull();
        assertThat(ha.health).containsExactly(true, false, true);
    }

    VirtualService withWeight(int weight) {
        VirtualService s = config(false).services().get(0);
        RealServer r = s.realServers().get(0);
        return new VirtualService(s.name(), s.key(), s.scheduler(), s.method(), s.persistence(),
                List.of(new RealServer(r.address(), weight, r.healthCheck())), s.sorryServer(), s.quorum(),
                s.onFailure(), s.proxyProtocol());
    }

    @Test
    void theVrrpInterfaceGoingDownMakesTheDirectorUnhealthy() throws Exception {
        start(false);
        ha.link = false;
        await("link down is reported", () -> !ha.lastHealth());
        ha.link = true;
        await("link up is reported", ha::lastHealth);
        assertThat(ha.health).containsExactly(true, false, true);
    }

    @Test
    void roleChangesBecomeEngineEventsForTheSyncDaemon() throws Exception {
        start(true);
        await("BACKUP reaches the dataplane", () -> kernel.roles.contains(Role.BACKUP));
        ha.become(VrrpState.MASTER);
        await("MASTER reaches the dataplane", () -> !kernel.roles.isEmpty()
                && kernel.roles.get(kernel.roles.size() - 1) == Role.MASTER);
        ha.become(VrrpState.FAULT);
        await("FAULT runs the sync daemon as backup", () -> kernel.roles.get(kernel.roles.size() - 1) == Role.BACKUP);
        assertThat(director.haStatus().orElseThrow().role()).isEqualTo("BACKUP");
    }

    @Test
    void withoutSyncTheDataplaneIsNotAskedToChangeRoles() throws Exception {
        start(false);
        ha.become(VrrpState.MASTER);
        Thread.sleep(100);
        assertThat(kernel.roles).isEmpty();
        assertThat(director.haStatus().orElseThrow().role()).isEqualTo("MASTER");
    }

    @Test
    void statusShowsTheVrrpStateAndCloseLeavesTheGroup() throws Exception {
        start(false);
        ha.become(VrrpState.MASTER);
        HaStatus st = director.status().ha();
        assertThat(st).isNotNull();
        assertThat(st.state()).isEqualTo("MASTER");
        assertThat(st.vrid()).isEqualTo(77);
        assertThat(st.priority()).isEqualTo(150);
        assertThat(st.advertIntervalMs()).isEqualTo(50);
        String table = StatusTable.list(director.status());
        assertThat(table).contains("VRRP vrid 77 on lo: MASTER, priority 150, master 127.0.0.1, advert 50 ms");
        director.close();
        director = null;
        assertThat(ha.stopped).isTrue();
    }

    @Test
    void aSplitBrainShowsInTheStatusTableAndTheJson() throws Exception {
        start(false);
        ha.tracking = List.of("track_script chk_web: FAILING (exit 1), weight -50 applied");
        ha.mismatches = List.of(new io.tiergate.director.ha.VrrpMismatches.Mismatch("10.0.0.2", "vrid",
                "10.0.0.2 is MASTER for our VIPs 10.0.0.100 under vrid 78 (ours: 77)", 12, true, Duration.ofMillis(40)));
        HaStatus st = director.status().ha();
        assertThat(st.splitBrain()).isTrue();
        assertThat(st.mismatchTotals()).containsEntry("vrid", 1L);
        assertThat(StatusTable.list(director.status())).contains("VRRP SPLIT BRAIN (vrid): 10.0.0.2 is MASTER "
                + "for our VIPs 10.0.0.100 under vrid 78 (ours: 77) [12 adverts, last 40 ms ago]")
                .contains("VRRP tracked: track_script chk_web: FAILING (exit 1), weight -50 applied");
        String json = new com.fasterxml.jackson.databind.ObjectMapper().writeValueAsString(director.status());
        assertThat(StatusTable.parse(json).ha()).isEqualTo(st);
    }

    @Test
    void mismatchesAndSplitBrainAreOnTheMetricsEndpoint() throws Exception {
        ha.mismatches = List.of(new io.tiergate.director.ha.VrrpMismatches.Mismatch("10.0.0.2", "version",
                "10.0.0.2 speaks VRRPv2", 3, true, Duration.ofMillis(10)));
        director = Director.start(vertx, config(false).withAdmin(Optional.of(new io.tiergate.shared.config.HostPort(
                "127.0.0.1", 0))), () -> kernel, "test", c -> ha);
        java.net.http.HttpClient http = java.net.http.HttpClient.newHttpClient();
        java.net.URI uri = java.net.URI.create("http://127.0.0.1:" + director.adminPort() + "/metrics");
        String[] body = {""};
        await("the VRRP meters show the fake's mismatch", () -> {
            try {
                body[0] = http.send(java.net.http.HttpRequest.newBuilder(uri).build(),
                        java.net.http.HttpResponse.BodyHandlers.ofString()).body();
            } catch (Exception e) {
                return false;
            }
            return body[0].contains("tiergate_director_vrrp_split_brain{tier=\"director\"} 1.0");
        });
        // The fake reports totals {"vrid": 1}: one advert with another VRID.
        assertThat(body[0]).contains("# TYPE tiergate_director_vrrp_mismatched_adverts_total counter")
                .contains("tiergate_director_vrrp_mismatched_adverts_total{cause=\"vrid\",tier=\"director\"} 1.0")
                .contains("tiergate_director_vrrp_mismatched_adverts_total{cause=\"version\",tier=\"director\"} 0.0");
    }

    @Test
    void theStatusJsonRoundTripsWithTheVrrpPart() throws Exception {
        start(false);
        String json = new com.fasterxml.jackson.databind.ObjectMapper().writeValueAsString(director.status());
        assertThat(StatusTable.parse(json).ha()).isEqualTo(director.status().ha());
    }

    /** Starts with the fake {@link #ha}; every instance a reload creates is a new fake in {@link #created}. */
    Director startReloadable() throws Exception {
        director = Director.start(vertx, config(false), () -> kernel, "test", c -> {
            if (created.isEmpty() && c.equals(FakeHa.DEFAULT)) {
                created.add(ha);
                return ha;
            }
            FakeHa f = new FakeHa(c);
            created.add(f);
            return f;
        });
        return director;
    }

    static VrrpConfig withPriority(VrrpConfig c, int priority) {
        return new VrrpConfig(c.enabled(), c.interfaceName(), c.vrid(), priority, c.advertInterval(), c.preempt(),
                c.preemptDelay(), c.virtualAddresses(), c.sourceAddress(), c.unicastPeers(), c.trackWeight(),
                c.garpCount(), c.garpInterval(), c.notifyCommand(), c.realtime());
    }

    @Test
    void aReloadedPriorityGoesToTheRunningInstanceWithoutARestart() throws Exception {
        startReloadable();
        VrrpConfig lower = withPriority(FakeHa.DEFAULT, 50);
        director.reload(config(false).withVrrp(Optional.of(lower)));
        assertThat(ha.reconfigured).as("the running instance gets the new section").containsExactly(lower);
        assertThat(ha.stopped).as("a priority change does not restart VRRP").isFalse();
        assertThat(created).as("no new instance").containsExactly(ha);
    }

    @Test
    void aReloadThatOnlyChangesAServiceLeavesVrrpAlone() throws Exception {
        startReloadable();
        director.reload(config(false).withServices(List.of(withWeight(3))));
        assertThat(ha.reconfigured).as("nothing is handed to VRRP").isEmpty();
        assertThat(ha.stopped).isFalse();
        assertThat(created).containsExactly(ha);
    }

    @Test
    void aChangedVridStopsTheOldInstanceAndStartsANewOne() throws Exception {
        startReloadable();
        VrrpConfig c = FakeHa.DEFAULT;
        VrrpConfig vrid78 = new VrrpConfig(true, c.interfaceName(), 78, c.priority(), c.advertInterval(), c.preempt(),
                c.preemptDelay(), c.virtualAddresses(), c.sourceAddress(), c.unicastPeers(), c.trackWeight(),
                c.garpCount(), c.garpInterval(), c.notifyCommand(), c.realtime());
        director.reload(config(false).withVrrp(Optional.of(vrid78)));
        assertThat(ha.stopped).as("the vrid-77 instance left the group").isTrue();
        assertThat(created).hasSize(2);
        FakeHa next = created.get(1);
        assertThat(next.started).as("a vrid-78 instance runs").isTrue();
        assertThat(next.healthBeforeStart).as("and was told the health before it started").isTrue();
        assertThat(director.haStatus().orElseThrow().vrid()).isEqualTo(78);
        next.become(VrrpState.MASTER);
        assertThat(director.haStatus().orElseThrow().role()).as("the new instance's roles reach the director")
                .isEqualTo("MASTER");
    }

    @Test
    void aRemovedSectionStopsVrrpAndAnAddedOneStartsIt() throws Exception {
        startReloadable();
        director.reload(config(false).withVrrp(Optional.empty()));
        assertThat(ha.stopped).as("VRRP left the group").isTrue();
        assertThat(director.haStatus()).as("no HA part without a vrrp section").isEmpty();
        assertThat(director.status().ha()).isNull();
        director.reload(config(false));
        assertThat(created).hasSize(2);
        assertThat(created.get(1).started).as("the section is back: VRRP runs again").isTrue();
        assertThat(director.haStatus()).isPresent();
    }
}
