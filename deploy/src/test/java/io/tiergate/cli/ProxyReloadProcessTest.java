package io.tiergate.cli;

import io.vertx.core.net.SelfSignedCertificate;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.math.BigInteger;
import java.net.ConnectException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * {@code tiergate proxy} as a process, reloaded the ways an operator meets in the first weeks: a certificate renewed
 * in place is served without any reload command; an edited file moves the access log, the admin endpoint, the log
 * format and adds an upstream server, in one INFO line that names what changed and what needs a restart; a broken
 * file is counted as a failed reload. The reload counters are read from the real /metrics.
 */
@Timeout(120)
class ProxyReloadProcessTest {
    @TempDir
    Path dir;
    Process proc;
    final List<String> lines = new CopyOnWriteArrayList<>();
    final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    @AfterEach
    void stop() throws Exception {
        if (proc != null && proc.isAlive()) {
            proc.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
        }
    }

    static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }

    private String yaml(int origin, String servers, int admin, Path accessLog, String format, String logFormat,
                        String cacheSize, Path cert, Path key) {
        return """
                logging: {level: info, format: %s}
                proxy:
                  access_log: {path: %s, format: %s}
                  admin: 127.0.0.1:%d
                  cache: {max_size: %s}
                  listeners:
                    - {name: plain, address: 127.0.0.1:0}
                    - {name: https, address: 127.0.0.1:0, tls: {certificates: [{cert: %s, key: %s}]}}
                  upstreams:
                    app: {servers: [%s]}
                  servers:
                    - default: true
                      locations:
                        - {prefix: /, upstream: app}
                        - {exact: /moved, return: "301 https://example.com/"}
                """.formatted(logFormat, accessLog, format, admin, cacheSize, cert, key,
                "127.0.0.1:" + origin + servers);
    }

    private void start(Path file) throws IOException {
        List<String> cmd = new ArrayList<>(List.of(ProcessHandle.current().info().command().orElse("java"),
                "-cp", System.getProperty("java.class.path"), "io.tiergate.cli.Main", "proxy",
                "-c", file.toString(), "--watch-interval", "300ms", "--cert-watch-interval", "300ms", "--drain", "1s"));
        proc = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        Thread t = new Thread(() -> {
            try (BufferedReader r = new BufferedReader(new InputStreamReader(proc.getInputStream(),
                    StandardCharsets.UTF_8))) {
                for (String l; (l = r.readLine()) != null; ) {
                    lines.add(l);
                }
            } catch (IOException e) {
                // process gone
            }
        }, "proxy-output");
        t.setDaemon(true);
        t.start();
    }

    private String waitForLine(String regex) throws InterruptedException {
        Pattern p = Pattern.compile(regex);
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (System.nanoTime() < end) {
            for (int i = 0; i < lines.size(); i++) {
                Matcher m = p.matcher(lines.get(i));
                if (!lines.get(i).startsWith("(seen) ") && m.find()) {
                    lines.set(i, "(seen) " + lines.get(i));
                    return m.groupCount() > 0 ? m.group(1) : lines.get(i);
                }
            }
            Thread.sleep(50);
        }
        throw new AssertionError("expected a line matching /" + regex + "/; the proxy printed:\n"
                + String.join("\n", lines));
    }

    private HttpResponse<String> get(int port, String path) throws Exception {
        return http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
                .timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString());
    }

    private static BigInteger serialOf(int port) throws Exception {
        SSLContext ctx = SSLContext.getInstance("TLS");
        ctx.init(null, io.netty.handler.ssl.util.InsecureTrustManagerFactory.INSTANCE.getTrustManagers(), null);
        try (SSLSocket s = (SSLSocket) ctx.getSocketFactory().createSocket("127.0.0.1", port)) {
            s.startHandshake();
            return ((X509Certificate) s.getSession().getPeerCertificates()[0]).getSerialNumber();
        }
    }

    private static BigInteger serialOf(Path pem) throws Exception {
        try (var in = Files.newInputStream(pem)) {
            return ((X509Certificate) java.security.cert.CertificateFactory.getInstance("X.509")
                    .generateCertificate(in)).getSerialNumber();
        }
    }

    private void install(SelfSignedCertificate c, Path cert, Path key) throws IOException {
        for (Path[] f : new Path[][] {{Path.of(c.certificatePath()), cert}, {Path.of(c.privateKeyPath()), key}}) {
            Path tmp = Files.createTempFile(dir, "renew", ".pem");
            Files.copy(f[0], tmp, StandardCopyOption.REPLACE_EXISTING);
            Files.move(tmp, f[1], StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        }
    }

    @Test
    void certificateRenewalAccessLogAdminLoggingAndUpstreamsAllApplyWithoutARestart() throws Exception {
        io.vertx.core.Vertx vertx = io.vertx.core.Vertx.vertx();
        try {
            var a = vertx.createHttpServer().requestHandler(r -> r.response().end("a")).listen(0, "127.0.0.1")
                    .toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
            var b = vertx.createHttpServer().requestHandler(r -> r.response().end("b")).listen(0, "127.0.0.1")
                    .toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
            run(a.actualPort(), b.actualPort());
        } finally {
            vertx.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
        }
    }

    /**
     * A config file caught while it is being written (an editor saving, a deploy tool copying in chunks) is read once,
     * complete: the watch waits until the file has been left alone, so there is no "reload rejected" for a half file
     * and no second reload of the same edit.
     */
    @Test
    void aFileWrittenInChunksIsReloadedOnceWhenComplete() throws Exception {
        io.vertx.core.Vertx vertx = io.vertx.core.Vertx.vertx();
        try {
            int a = vertx.createHttpServer().requestHandler(r -> r.response().end("a")).listen(0, "127.0.0.1")
                    .toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS).actualPort();
            int b = vertx.createHttpServer().requestHandler(r -> r.response().end("b")).listen(0, "127.0.0.1")
                    .toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS).actualPort();
            Path cert = dir.resolve("site.pem");
            Path key = dir.resolve("site.key");
            install(SelfSignedCertificate.create("site.example"), cert, key);
            Path log = dir.resolve("access.log");
            int admin = freePort();
            Path file = dir.resolve("proxy.yaml");
            Files.writeString(file, yaml(a, "", admin, log, "combined", "text", "64m", cert, key));
            start(file);
            waitForLine("admin on 127\\.0\\.0\\.1:" + admin);

            // Written in 5 chunks, 100 ms apart: 400 ms of writing, longer than the 300 ms watch interval, so a
            // watch that read whatever it found would catch the file half-written.
            byte[] next = yaml(a, ", 127.0.0.1:" + b, admin, log, "combined", "text", "64m", cert, key)
                    .getBytes(StandardCharsets.UTF_8);
            try (var out = Files.newOutputStream(file)) {
                for (int i = 0; i < 5; i++) {
                    out.write(next, i * next.length / 5, (i + 1) * next.length / 5 - i * next.length / 5);
                    out.flush();
                    if (i < 4) {
                        Thread.sleep(100);
                    }
                }
            }
            waitForLine("reloaded " + Pattern.quote(file.toString()) + ": .*\\+upstream app server 127\\.0\\.0\\.1:" + b);
            Thread.sleep(2000); // room for a second reload or a rejection, were there one
            assertThat(lines).as("no half-written file was read").noneMatch(l -> l.contains("reload rejected"));
            assertThat(lines.stream().filter(l -> l.contains("reloaded " + file))).as("one reload for one edit")
                    .hasSize(1);
            String metrics = get(admin, "/metrics").body();
            assertThat(metrics)
                    .containsPattern("tiergate_config_reloads_total\\{[^}]*result=\"success\"[^}]*\\} 1\\.0")
                    .doesNotContainPattern("tiergate_config_reloads_total\\{[^}]*result=\"failure\"[^}]*\\} [1-9]");
        } finally {
            vertx.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
        }
    }

    private void run(int originA, int originB) throws Exception {
        Path cert = dir.resolve("site.pem");
        Path key = dir.resolve("site.key");
        install(SelfSignedCertificate.create("site.example"), cert, key);
        Path log1 = dir.resolve("access-1.log");
        Path log2 = dir.resolve("logs/access-2.log");
        int admin1 = freePort();
        int admin2 = freePort();
        Path file = dir.resolve("proxy.yaml");
        Files.writeString(file, yaml(originA, "", admin1, log1, "combined", "text", "64m", cert, key));
        start(file);
        int plain = Integer.parseInt(waitForLine("listening on 127\\.0\\.0\\.1:(\\d+) \\(listener 'plain'"));
        int tls = Integer.parseInt(waitForLine("listening on 127\\.0\\.0\\.1:(\\d+) \\(listener 'https'"));
        waitForLine("admin on 127\\.0\\.0\\.1:" + admin1);

        // 1. A certificate renewed in place: no command, the watch loads it.
        BigInteger first = serialOf(tls);
        install(SelfSignedCertificate.create("site.example"), cert, key);
        waitForLine("reloaded: tls certificate of listener 'https' \\(" + Pattern.quote(cert.toString()));
        assertThat(serialOf(tls)).as("new handshakes get the renewed certificate")
                .isNotEqualTo(first).isEqualTo(serialOf(cert));

        assertThat(get(plain, "/x").body()).isEqualTo("a");
        assertThat(get(plain, "/moved").statusCode()).as("a return: location without upstream answers").isEqualTo(301);
        long waitLog = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (!Files.exists(log1) || Files.readString(log1).lines().count() < 2) {
            assertThat(System.nanoTime()).as("access log 1 gets the lines").isLessThan(waitLog);
            Thread.sleep(50);
        }

        // 2. An edited file (the watch sees its modification time): every key applies or is named.
        Files.writeString(file, yaml(originA, ", 127.0.0.1:" + originB, admin2, log2, "json", "json", "128m", cert,
                key));
        String line = waitForLine("reloaded " + Pattern.quote(file.toString()) + ": ");
        assertThat(line).as("one line, in the new (JSON) log format, at INFO")
                .startsWith("(seen) {").contains("\"level\":\"INFO\"")
                .contains("+upstream app server 127.0.0.1:" + originB)
                .contains("access_log " + log1 + " (combined) -> " + log2 + " (json)")
                .contains("admin 127.0.0.1:" + admin1 + " -> 127.0.0.1:" + admin2)
                .contains("logging json/info")
                .contains("needs restart: cache");
        long log1Lines = Files.readString(log1).lines().count();
        for (int i = 0; i < 4; i++) {
            assertThat(get(plain, "/y").statusCode()).isEqualTo(200);
        }
        long waitLog2 = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (!Files.exists(log2) || Files.readString(log2).lines().count() < 4) {
            assertThat(System.nanoTime()).as("the new access log gets the new lines").isLessThan(waitLog2);
            Thread.sleep(50);
        }
        assertThat(Files.readString(log2).lines()).allSatisfy(l -> assertThat(l).startsWith("{\"time\":"));
        assertThat(Files.readString(log1).lines().count()).as("the old file gets nothing more").isEqualTo(log1Lines);
        assertThatThrownBy(() -> get(admin1, "/metrics")).as("the old admin address is closed")
                .isInstanceOf(ConnectException.class);

        // 3. A broken file: rejected, counted, the old config keeps serving.
        Files.writeString(file, "proxy: {listeners: [\n");
        waitForLine("reload rejected");
        assertThat(get(plain, "/z").statusCode()).isEqualTo(200);

        String metrics = get(admin2, "/metrics").body();
        assertThat(metrics)
                .containsPattern("tiergate_config_reloads_total\\{[^}]*result=\"success\"[^}]*\\} 2\\.0")
                .containsPattern("tiergate_config_reloads_total\\{[^}]*result=\"failure\"[^}]*\\} 1\\.0")
                .containsPattern("tiergate_config_last_reload_successful\\{[^}]*\\} 0\\.0")
                .contains("tiergate_config_last_reload_success_timestamp_seconds{");
    }
}
