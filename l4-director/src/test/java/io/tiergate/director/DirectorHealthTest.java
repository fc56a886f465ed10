package io.tiergate.director;

import io.tiergate.director.config.DirectorConfig;
import io.tiergate.director.dataplane.DataplaneKind;
import io.tiergate.director.dataplane.userspace.Backends;
import io.tiergate.director.dataplane.userspace.UserspaceDataplane;
import io.tiergate.director.engine.ServiceStatus;
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
import io.vertx.core.Vertx;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/** The whole director on the userspace dataplane: health checks, the engine, admin API, metrics. No root. */
class DirectorHealthTest {
    Vertx vertx;
    Director director;
    Backends.Named a;
    Backends.Named b;
    UserspaceDataplane dp;
    static final ServiceKey KEY = ServiceKey.of(Protocol.TCP, "127.0.0.1", 0);

    @BeforeEach
    void start() throws Exception {
        vertx = Vertx.vertx();
        a = Backends.start(vertx, "a");
        b = Backends.start(vertx, "b");
    }

    @AfterEach
    void stop() throws Exception {
        if (director != null) {
            director.close();
        }
        vertx.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    }

    Director director(OnFailure onFailure) throws Exception {
        HealthCheck check = HealthCheck.tcp(Duration.ofMillis(100), Duration.ofMillis(100), 1, 2);
        VirtualService web = new VirtualService("web", KEY, Scheduler.ROUND_ROBIN, ForwardingMethod.DIRECT_ROUTE,
                Persistence.NONE, List.of(
                        new RealServer(new HostPort("127.0.0.1", a.port), 1, Optional.of(check)),
                        new RealServer(new HostPort("127.0.0.1", b.port), 1, Optional.of(check))),
                Optional.empty(), 1, onFailure, false);
        DirectorConfig cfg = DirectorConfig.of(DataplaneKind.USERSPACE, List.of(web))
                .withAdmin(Optional.of(new HostPort("127.0.0.1", 0)));
        director = Director.start(vertx, cfg, () -> dp = new UserspaceDataplane(vertx, Duration.ofSeconds(1),
                Duration.ofSeconds(5)), "test");
        return director;
    }

    ServiceStatus.RealServerStatus row(String id) {
        return director.status().services().get(0).realServers().stream().filter(r -> r.id().equals(id))
                .findFirst().orElseThrow();
    }

    void awaitHealth(String id, String health) throws InterruptedException {
        // Generous: the first probe can be late on a loaded 2-core CI machine; the timing that matters is measured below.
        long deadline = System.nanoTime() + 10_000_000_000L;
        while (!row(id).health().equals(health) && System.nanoTime() < deadline) {
            Thread.sleep(5);
        }
        assertThat(row(id).health()).as("health of %s", id).isEqualTo(health);
    }

    @Test
    void aKilledRealServerIsOutQuicklyAndNewConnectionsSucceed() throws Exception {
        director(OnFailure.WEIGHT0);
        String bId = "127.0.0.1:" + b.port;
        awaitHealth(bId, "up");
        awaitHealth("127.0.0.1:" + a.port, "up");
        long killed = System.nanoTime();
        b.kill();
        long deadline = killed + 3_000_000_000L;
        while (row(bId).effectiveWeight() != 0 && System.nanoTime() < deadline) {
            Thread.sleep(2);
        }
        long outMs = (System.nanoTime() - killed) / 1_000_000;
        System.out.println("[measure] killed real server out of the userspace dataplane after " + outMs
                + " ms (interval 100ms, fall 2)");
        assertThat(row(bId).effectiveWeight()).as("the killed server is at weight 0").isZero();
        assertThat(outMs).as("out within a generous bound (target < 300 ms)").isLessThan(1500);
        int port = dp.boundPort(KEY);
        Set<String> seen = new HashSet<>();
        for (int i = 0; i < 10; i++) {
            seen.add(Backends.ask(port));
        }
        assertThat(seen).as("every new connection lands on the surviving server").containsExactly("a");
    }

    @Test
    void removeTakesTheServerOutOfTheDataplane() throws Exception {
        director(OnFailure.REMOVE);
        String bId = "127.0.0.1:" + b.port;
        awaitHealth(bId, "up");
        b.kill();
        awaitHealth(bId, "down");
        assertThat(row(bId).inDataplane()).as("on_failure remove deletes it from the dataplane").isFalse();
        assertThat(dp.counters().get(KEY)).doesNotContainKey(bId);
    }

    @Test
    void adminApiShowsStatusDrainsAndServesMetrics() throws Exception {
        director(OnFailure.WEIGHT0);
        HttpClient http = HttpClient.newHttpClient();
        String base = "http://127.0.0.1:" + director.adminPort();
        String aId = "127.0.0.1:" + a.port;
        HttpResponse<String> st = http.send(HttpRequest.newBuilder(URI.create(base + "/api/status")).build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(st.statusCode()).isEqualTo(200);
        assertThat(st.body()).contains("\"dataplane\" : \"userspace\"").contains("\"name\" : \"web\"").contains(aId);

        HttpResponse<String> drain = http.send(HttpRequest.newBuilder(URI.create(base + "/api/services/web/real-servers/"
                + aId + "/drain")).POST(HttpRequest.BodyPublishers.noBody()).build(), HttpResponse.BodyHandlers.ofString());
        assertThat(drain.statusCode()).as(drain.body()).isEqualTo(200);
        assertThat(row(aId).drained()).isTrue();
        assertThat(row(aId).effectiveWeight()).isZero();

        HttpResponse<String> unknown = http.send(HttpRequest.newBuilder(URI.create(base + "/api/services/web/real-servers/"
                + "10.9.9.9:1/drain")).POST(HttpRequest.BodyPublishers.noBody()).build(), HttpResponse.BodyHandlers.ofString());
        assertThat(unknown.statusCode()).as("an unknown real server is a 404 naming what exists").isEqualTo(404);
        assertThat(unknown.body()).contains("has no real server '10.9.9.9:1'");

        Thread.sleep(1200); // gauges refresh once a second
        HttpResponse<String> metrics = http.send(HttpRequest.newBuilder(URI.create(base + "/metrics")).build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(metrics.body()).contains("tiergate_director_real_server_weight{")
                .contains("real_server=\"" + aId + "\"");
    }
}
