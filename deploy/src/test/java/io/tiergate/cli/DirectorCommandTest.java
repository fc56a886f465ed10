package io.tiergate.cli;

import io.tiergate.director.Director;
import io.tiergate.director.config.DirectorConfig;
import io.tiergate.director.dataplane.DataplaneKind;
import io.tiergate.director.dataplane.userspace.UserspaceDataplane;
import io.tiergate.director.model.ForwardingMethod;
import io.tiergate.director.model.OnFailure;
import io.tiergate.director.model.Persistence;
import io.tiergate.director.model.Protocol;
import io.tiergate.director.model.RealServer;
import io.tiergate.director.model.Scheduler;
import io.tiergate.director.model.ServiceKey;
import io.tiergate.director.model.VirtualService;
import io.tiergate.shared.config.HostPort;
import io.vertx.core.Vertx;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

class DirectorCommandTest {
    static Vertx vertx;
    static Director director;
    static String admin;

    record Run(int exit, String out, String err) {
    }

    static Run tiergate(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int code = Main.run(new PrintWriter(out, true), new PrintWriter(err, true), args);
        return new Run(code, out.toString(), err.toString());
    }

    @BeforeAll
    static void start() throws Exception {
        vertx = Vertx.vertx();
        VirtualService web = new VirtualService("web", ServiceKey.of(Protocol.TCP, "127.0.0.1", 0), Scheduler.ROUND_ROBIN,
                ForwardingMethod.DIRECT_ROUTE, Persistence.NONE,
                List.of(new RealServer(new HostPort("127.0.0.1", 9), 3, Optional.empty())), Optional.empty(), 1,
                OnFailure.WEIGHT0, false);
        DirectorConfig cfg = DirectorConfig.of(DataplaneKind.USERSPACE, List.of(web))
                .withAdmin(Optional.of(new HostPort("127.0.0.1", 0)));
        director = Director.start(vertx, cfg, () -> new UserspaceDataplane(vertx, Duration.ofSeconds(1),
                Duration.ofSeconds(5)), "test");
        admin = "127.0.0.1:" + director.adminPort();
    }

    @AfterAll
    static void stop() throws Exception {
        director.close();
        vertx.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    }

    @Test
    void theExampleConfigIsValid() {
        Path example = Path.of("examples/director.yaml");
        Run r = tiergate("config", "check", example.toString());
        assertThat(r.exit()).as("deploy/examples/director.yaml must pass config check: " + r.err()).isZero();
        assertThat(r.out()).contains("OK (director)");
    }

    @Test
    void statusPrintsAnIpvsadmLikeTable() {
        Run r = tiergate("director", "status", "--admin", admin);
        assertThat(r.exit()).as(r.err()).isZero();
        assertThat(r.out()).contains("dataplane userspace").contains("TCP  127.0.0.1:0 rr  (web)")
                .contains("  -> 127.0.0.1:9").contains("Route   3");
        Run stats = tiergate("director", "status", "--stats", "--admin", admin);
        assertThat(stats.out()).contains("InBytes");
    }

    @Test
    void drainAndEnableChangeTheWeight() {
        Run d = tiergate("director", "drain", "web", "127.0.0.1:9", "--admin", admin);
        assertThat(d.exit()).as(d.err()).isZero();
        assertThat(d.out()).contains("drained");
        assertThat(tiergate("director", "status", "--admin", admin).out()).contains("Route   0").contains("drained");
        Run e = tiergate("director", "enable", "web", "127.0.0.1:9", "--admin", admin);
        assertThat(e.exit()).isZero();
        assertThat(tiergate("director", "status", "--admin", admin).out()).contains("Route   3");
    }

    @Test
    void anUnknownRealServerIsAUserErrorNotAStackTrace() {
        Run r = tiergate("director", "drain", "web", "10.1.1.1:80", "--admin", admin);
        assertThat(r.exit()).isEqualTo(ExitCodes.USAGE);
        assertThat(r.err()).contains("service 'web' has no real server '10.1.1.1:80' (real servers: 127.0.0.1:9)")
                .doesNotContain("Exception");
    }

    @Test
    void drainAllWithoutBgpIsAUserErrorThatSaysWhy() {
        Run r = tiergate("director", "drain", "--all", "--admin", admin);
        assertThat(r.exit()).isEqualTo(ExitCodes.USAGE);
        assertThat(r.err()).contains("has no director.bgp section (drain real servers one by one instead)")
                .doesNotContain("{").doesNotContain("Exception");
        Run none = tiergate("director", "drain", "--admin", admin);
        assertThat(none.exit()).isEqualTo(ExitCodes.USAGE);
        assertThat(none.err()).contains("give SERVICE and RS (e.g. web 10.0.0.11:80), or --all for the whole director");
        Run both = tiergate("director", "enable", "web", "--all", "--admin", admin);
        assertThat(both.exit()).isEqualTo(ExitCodes.USAGE);
        assertThat(both.err()).contains("--all takes no SERVICE or RS");
    }

    @Test
    void noDirectorRunningSaysSo() {
        Run r = tiergate("director", "status", "--admin", "127.0.0.1:1");
        assertThat(r.exit()).isEqualTo(ExitCodes.FAILURE);
        assertThat(r.err()).contains("no director answers at http://127.0.0.1:1/api");
    }
}
