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
import io.tiergate.proxy.ProxyNode;
import io.tiergate.proxy.config.ProxyConfig;
import io.tiergate.shared.config.ConfigMap;
import io.tiergate.shared.config.HostPort;
import io.tiergate.shared.config.Problems;
import io.tiergate.shared.config.YamlLoader;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * client (from 127.0.0.2) → Director (userspace dataplane, {@code proxy_protocol: true}) → ProxyNode (listener with
 * {@code proxy_protocol: {trusted: [127.0.0.0/8]}}) → origin. The director's own connection to the proxy comes from
 * 127.0.0.1, so an origin that sees X-Forwarded-For 127.0.0.2 got it from the PROXY v2 header, not from the TCP peer.
 */
@Timeout(60)
class ProxyProtocolEndToEndTest {
    @TempDir
    static Path dir;
    static Vertx vertx;
    static HttpServer origin;
    static ProxyNode proxy;
    static Director director;
    static int vipPort;
    static int proxyPort;
    static Path accessLog;

    @BeforeAll
    static void start() throws Exception {
        vertx = Vertx.vertx();
        origin = vertx.createHttpServer().requestHandler(req -> req.response()
                        .end("xff=" + req.getHeader("X-Forwarded-For") + " remote_addr=" + req.getHeader("X-Real-IP")))
                .listen(0, "127.0.0.1").toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
        accessLog = dir.resolve("access.log");
        Problems problems = new Problems();
        ProxyConfig pc = ProxyConfig.parse(ConfigMap.of(YamlLoader.parse("proxy.yaml", """
                access_log: {format: combined, path: "%s"}
                listeners: [{name: from-director, address: 127.0.0.1:0, proxy_protocol: {trusted: [127.0.0.0/8]}}]
                upstreams: {app: {servers: ["127.0.0.1:%d"]}}
                servers:
                  - default: true
                    locations: [{prefix: /, upstream: app, headers: {request: {set: {X-Real-IP: $remote_addr}}}}]
                """.formatted(accessLog, origin.actualPort())), problems));
        assertThat(problems.format()).isEmpty();
        proxy = ProxyNode.start(vertx, pc).toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
        proxyPort = proxy.listenPorts().get(0);

        ServiceKey key = ServiceKey.of(Protocol.TCP, "127.0.0.1", 0);
        VirtualService web = new VirtualService("web", key, Scheduler.ROUND_ROBIN, ForwardingMethod.NAT,
                Persistence.NONE, List.of(new RealServer(new HostPort("127.0.0.1", proxyPort), 1, Optional.empty())),
                Optional.empty(), 1, OnFailure.WEIGHT0, true);
        DirectorConfig dc = DirectorConfig.of(DataplaneKind.USERSPACE, List.of(web));
        UserspaceDataplane[] dp = new UserspaceDataplane[1];
        director = Director.start(vertx, dc, () -> dp[0] = new UserspaceDataplane(vertx, Duration.ofSeconds(2),
                Duration.ofSeconds(5)), "test");
        vipPort = dp[0].boundPort(key);
        assertThat(vipPort).isPositive();
    }

    @AfterAll
    static void stop() throws Exception {
        director.close();
        proxy.shutdown(Duration.ZERO).toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
        vertx.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    }

    /** One request from {@code from} to {@code port}, Connection: close; the whole answer. */
    static String get(int port, String from, String uri) throws Exception {
        try (Socket s = new Socket(InetAddress.getByName("127.0.0.1"), port, InetAddress.getByName(from), 0)) {
            s.setSoTimeout(5000);
            s.getOutputStream().write(("GET " + uri + " HTTP/1.1\r\nHost: app\r\nConnection: close\r\n\r\n")
                    .getBytes(StandardCharsets.ISO_8859_1));
            s.getOutputStream().flush();
            ByteArrayOutputStream b = new ByteArrayOutputStream();
            InputStream in = s.getInputStream();
            byte[] buf = new byte[4096];
            try {
                for (int n; (n = in.read(buf)) >= 0; ) {
                    b.write(buf, 0, n);
                }
            } catch (java.net.SocketException e) {
                // reset
            }
            return b.toString(StandardCharsets.ISO_8859_1);
        }
    }

    @Test
    void theOriginSeesTheClientTheDirectorNamedInItsProxyHeader() throws Exception {
        for (int i = 0; i < 50; i++) {
            String r = get(vipPort, "127.0.0.2", "/e2e/" + i);
            assertThat(r).as("iteration %d", i).startsWith("HTTP/1.1 200")
                    .endsWith("xff=127.0.0.2 remote_addr=127.0.0.2");
        }
        long deadline = System.nanoTime() + Duration.ofSeconds(5).toNanos();
        String log = "";
        while (System.nanoTime() < deadline && !log.contains("GET /e2e/49 ")) {
            Thread.sleep(50);
            log = Files.exists(accessLog) ? Files.readString(accessLog) : "";
        }
        assertThat(log.lines().filter(l -> l.contains("GET /e2e/")).toList()).hasSize(50)
                .allMatch(l -> l.startsWith("127.0.0.2 "), "the access log names the client from the PROXY header");
    }

    @Test
    void withoutTheDirectorsHeaderTheProxyListenerServesNothing() throws Exception {
        assertThat(get(proxyPort, "127.0.0.2", "/direct")).as("no PROXY header: closed unanswered").isEmpty();
    }
}
