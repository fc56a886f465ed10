package io.tiergate.cli;

import io.tiergate.director.Director;
import io.tiergate.director.config.DirectorConfig;
import io.tiergate.proxy.ProxyNode;
import io.tiergate.proxy.admin.ProxyAdmin;
import io.tiergate.proxy.config.ProxyConfig;
import io.tiergate.shared.metrics.Metrics;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The CLI against admin endpoints that want credentials: {@code director status/drain/enable} and
 * {@code cache purge} fail with exit 77 and a message naming --token-file without them, work with --token-file or
 * with -c (the config's own admin_auth), and reach an HTTPS admin endpoint (admin_tls) through -c.
 */
@Timeout(90)
class AdminAuthCommandTest {
    static final String TOKEN = "0123456789abcdef0123456789abcdef";

    @TempDir
    static Path dir;
    static Vertx vertx;
    static Director director;
    static Path directorYaml;
    static Path tokenFile;
    static String directorAdmin;
    static HttpServer origin;
    static ProxyNode proxy;
    static ProxyAdmin.Endpoint proxyAdmin;
    static Metrics proxyMetrics;
    static Path proxyYaml;

    static DirectorCommandTest.Run tiergate(String... args) {
        return DirectorCommandTest.tiergate(args);
    }

    static int freePort() throws Exception {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }

    @BeforeAll
    static void start() throws Exception {
        vertx = Vertx.vertx();
        tokenFile = dir.resolve("admin.token");
        Files.writeString(tokenFile, TOKEN + "\n");
        Path cert = dir.resolve("admin-cert.pem");
        Path key = dir.resolve("admin-key.pem");
        Process p = new ProcessBuilder("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout",
                key.toString(), "-out", cert.toString(), "-days", "2", "-subj", "/CN=127.0.0.1",
                "-addext", "subjectAltName=IP:127.0.0.1").redirectErrorStream(true).start();
        p.getInputStream().readAllBytes();
        assertThat(p.waitFor(60, TimeUnit.SECONDS) && p.exitValue() == 0).as("openssl made a certificate").isTrue();
        int adminPort = freePort();
        directorYaml = dir.resolve("director.yaml");
        Files.writeString(directorYaml, """
                director:
                  dataplane: userspace
                  admin: 127.0.0.1:%d
                  admin_auth: {token_file: %s}
                  admin_tls: {cert: %s, key: %s}
                  services:
                    web:
                      vip: 127.0.0.1:%d
                      method: nat
                      health: {type: none}
                      real_servers: [127.0.0.1:9]
                """.formatted(adminPort, tokenFile, cert, key, freePort()));
        DirectorConfig dc = TiergateConfig.load(directorYaml).director().orElseThrow();
        director = Director.start(vertx, dc);
        directorAdmin = "127.0.0.1:" + director.adminPort();

        origin = vertx.createHttpServer().requestHandler(req -> req.response().putHeader("Cache-Control", "max-age=60")
                .end("hello")).listen(0, "127.0.0.1").await(5, TimeUnit.SECONDS);
        int proxyAdminPort = freePort();
        proxyYaml = dir.resolve("proxy.yaml");
        Files.writeString(proxyYaml, """
                proxy:
                  access_log: {format: off}
                  admin: 127.0.0.1:%d
                  admin_auth: {token_file: %s, protect_reads: true}
                  listeners: [{address: 127.0.0.1:0}]
                  upstreams: {app: {servers: [127.0.0.1:%d]}}
                  servers: [{default: true, locations: [{prefix: /, upstream: app, cache: on}]}]
                """.formatted(proxyAdminPort, tokenFile, origin.actualPort()));
        ProxyConfig pc = TiergateConfig.load(proxyYaml).proxy().orElseThrow();
        proxyMetrics = new Metrics(Map.of("tier", "proxy"));
        proxy = ProxyNode.start(vertx, pc, proxyMetrics.registry()).await(30, TimeUnit.SECONDS);
        proxyAdmin = ProxyAdmin.serve(vertx, proxy, proxyMetrics, pc.admin(), pc.adminAccess(), () -> true)
                .await(10, TimeUnit.SECONDS);
    }

    @AfterAll
    static void stop() throws Exception {
        if (director != null) {
            director.close();
        }
        if (proxy != null) {
            proxy.shutdown(Duration.ZERO).await(10, TimeUnit.SECONDS);
        }
        if (proxyMetrics != null) {
            proxyMetrics.close();
        }
        vertx.close().await(10, TimeUnit.SECONDS);
    }

    @Test
    void directorCommandsNeedTheTokenAndTakeItFromAFileOrTheConfig() {
        DirectorCommandTest.Run none = tiergate("director", "drain", "web", "127.0.0.1:9", "--admin", directorAdmin,
                "--cacert", dir.resolve("admin-cert.pem").toString());
        assertThat(none.exit()).as(none.err()).isEqualTo(ExitCodes.NO_PERMISSION);
        assertThat(none.err()).contains("wants credentials").contains("--token-file").doesNotContain("Exception");

        DirectorCommandTest.Run byFile = tiergate("director", "drain", "web", "127.0.0.1:9", "--admin", directorAdmin,
                "--cacert", dir.resolve("admin-cert.pem").toString(), "--token-file", tokenFile.toString());
        assertThat(byFile.exit()).as(byFile.err()).isZero();
        assertThat(byFile.out()).contains("drained");

        DirectorCommandTest.Run byConfig = tiergate("director", "enable", "web", "127.0.0.1:9", "-c", directorYaml.toString());
        assertThat(byConfig.exit()).as(byConfig.err()).isZero();
        DirectorCommandTest.Run status = tiergate("director", "status", "-c", directorYaml.toString());
        assertThat(status.exit()).as(status.err()).isZero();
        assertThat(status.out()).contains("127.0.0.1:9");
    }

    @Test
    void aWrongTokenIsRefusedWithExit77() throws Exception {
        Path wrong = dir.resolve("wrong.token");
        Files.writeString(wrong, "not-the-token-at-all-0000");
        DirectorCommandTest.Run r = tiergate("director", "status", "--admin", directorAdmin, "--cacert",
                dir.resolve("admin-cert.pem").toString(), "--token-file", wrong.toString());
        assertThat(r.exit()).as(r.err()).isEqualTo(ExitCodes.NO_PERMISSION);
        assertThat(r.err()).contains("refused the credentials");
    }

    @Test
    void theTlsAdminEndpointDoesNotSpeakPlainHttp() {
        HttpClient plain = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();
        assertThatThrownBy(() -> plain.send(HttpRequest.newBuilder(URI.create("http://" + directorAdmin + "/api/status"))
                .timeout(Duration.ofSeconds(20)).build(), HttpResponse.BodyHandlers.ofString()))
                .isInstanceOf(java.io.IOException.class);
    }

    @Test
    void cachePurgeNeedsTheTokenAndProtectReadsCoversStatus() throws Exception {
        HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();
        String site = "http://127.0.0.1:" + proxy.listenPorts().get(0);
        http.send(HttpRequest.newBuilder(URI.create(site + "/a.css")).build(), HttpResponse.BodyHandlers.ofString());
        String adminBase = "http://" + TiergateConfig.load(proxyYaml).proxy().orElseThrow().admin();
        HttpResponse<String> status = http.send(HttpRequest.newBuilder(URI.create(adminBase + "/api/status")).build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(status.statusCode()).as("protect_reads: status without the token").isEqualTo(401);
        HttpResponse<String> page = http.send(HttpRequest.newBuilder(URI.create(adminBase + "/")).build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(page.statusCode()).as("the page itself holds no data").isEqualTo(200);
        assertThat(http.send(HttpRequest.newBuilder(URI.create(adminBase + "/healthz")).build(),
                HttpResponse.BodyHandlers.ofString()).statusCode()).as("probes need no token").isEqualTo(200);

        DirectorCommandTest.Run none = tiergate("cache", "purge", "http://127.0.0.1/a.css", "--admin", adminBase.substring(7));
        assertThat(none.exit()).as(none.err()).isEqualTo(ExitCodes.NO_PERMISSION);
        DirectorCommandTest.Run ok = tiergate("cache", "purge", "http://127.0.0.1/a.css", "-c", proxyYaml.toString());
        assertThat(ok.exit()).as(ok.err()).isZero();
        assertThat(ok.out()).contains("\"purged\":1");
    }
}
