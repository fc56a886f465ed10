package io.tiergate.cli;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The director as a real process: it refuses to start, with one line and the documented exit code, when it cannot do
 * its job (no privilege for nft: 77; a VIP that is not on this host: 1); under nohup with SIGINT ignored it still
 * reloads on {@code tiergate reload}, survives SIGUSR1 and stops on Ctrl-C with exit 0; SIGTERM exits 0 too.
 */
@Timeout(120)
class DirectorOperationsProcessTest {
    @TempDir
    Path dir;

    @BeforeEach
    void linux() {
        Assumptions.assumeTrue(System.getProperty("os.name").startsWith("Linux"), "skipped: needs Linux");
    }

    static int freePort() throws Exception {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }

    private Path config(String dataplane, String vip, int admin) throws Exception {
        Path file = dir.resolve("director.yaml");
        Files.writeString(file, """
                director:
                  dataplane: %s
                  interface: lo
                  admin: 127.0.0.1:%d
                  services:
                    web:
                      vip: %s
                      scheduler: rr
                      method: nat
                      health: {type: none}
                      real_servers: [127.0.0.1:9]
                """.formatted(dataplane, admin, vip));
        return file;
    }

    /** ERROR lines and anything that looks like a stack trace or a library's own stderr chatter. */
    static List<String> complaints(TierProcess p) {
        return p.lines.stream().filter(l -> !l.contains(" INFO ") && !l.contains(" DEBUG ")).toList();
    }

    @Test
    void withoutCapNetAdminTheNftDataplaneEndsTheDirectorWithOneLineAndExit77() throws Exception {
        // As root: drop CAP_NET_ADMIN from the bounding and inheritable sets, so even root has it no longer effective.
        List<String> wrapper = List.of();
        if ("root".equals(System.getProperty("user.name"))) {
            Assumptions.assumeTrue(Files.isExecutable(Path.of("/usr/bin/setpriv")),
                    "skipped: needs setpriv (util-linux) to drop CAP_NET_ADMIN");
            wrapper = List.of("setpriv", "--bounding-set=-net_admin", "--inh-caps=-net_admin", "--");
        }
        Path file = config("nft", "127.0.0.1:" + freePort(), freePort());
        try (TierProcess p = TierProcess.start(wrapper, "director", "-c", file.toString())) {
            assertThat(p.exit()).as("exit 77: missing privilege; output:\n" + p.output()).isEqualTo(77);
            assertThat(complaints(p)).as("one clear line, nothing else").hasSize(1);
            assertThat(complaints(p).get(0)).contains("ERROR").contains("CAP_NET_ADMIN").contains("dataplane: userspace");
            assertThat(p.output()).doesNotContain("director running");
        }
    }

    @Test
    void aVipThatIsNotOnThisHostEndsTheDirectorWithOneLineAndExit1() throws Exception {
        Path file = config("userspace", "192.0.2.77:" + freePort(), freePort()); // TEST-NET-1: on no host
        try (TierProcess p = TierProcess.start(List.of(), "director", "-c", file.toString())) {
            assertThat(p.exit()).as("exit 1; output:\n" + p.output()).isEqualTo(1);
            assertThat(complaints(p)).as("one clear line, nothing else").hasSize(1);
            assertThat(complaints(p).get(0)).contains("ERROR").contains("192.0.2.77")
                    .contains("Cannot assign requested address");
            assertThat(p.output()).doesNotContain("director running");
        }
    }

    @Test
    void underNohupWithSigintIgnoredItReloadsSurvivesUsr1AndStopsOnCtrlCWithExit0() throws Exception {
        int admin = freePort();
        Path file = config("userspace", "127.0.0.1:" + freePort(), admin);
        Path pid = dir.resolve("director.pid");
        try (TierProcess p = TierProcess.start(TierProcess.nohupWithSigintIgnored(), "director", "-c", file.toString(),
                "--pid-file", pid.toString())) {
            p.waitFor("director running");
            assertThat(readyz(admin)).as("/readyz once the dataplane is programmed").isEqualTo(200);
            StringWriter out = new StringWriter();
            StringWriter err = new StringWriter();
            assertThat(Main.run(new PrintWriter(out, true), new PrintWriter(err, true), "reload", "--pid-file",
                    pid.toString())).as("tiergate reload: " + out + err).isZero();
            assertThat(out.toString()).contains("director");
            p.waitFor("reloaded " + java.util.regex.Pattern.quote(file.toString()));
            p.signal("USR1");
            p.waitFor("SIGUSR1");
            assertThat(p.process.isAlive()).as("SIGUSR1 does not kill the director").isTrue();
            p.signal("INT");
            assertThat(p.exit()).as("Ctrl-C: graceful stop, exit 0; output:\n" + p.output()).isZero();
            assertThat(p.output()).contains("SIGINT: stopping").contains("stopped");
        }
        StringWriter err = new StringWriter();
        assertThat(Main.run(new PrintWriter(new StringWriter(), true), new PrintWriter(err, true), "reload",
                "--pid-file", pid.toString())).as("nothing runs any more").isEqualTo(1);
        assertThat(err.toString()).contains("no pid file at " + pid);
    }

    @Test
    void sigtermIsAGracefulLoggedStopWithExit0() throws Exception {
        Path file = config("userspace", "127.0.0.1:" + freePort(), freePort());
        try (TierProcess p = TierProcess.start(List.of(), "director", "-c", file.toString())) {
            p.waitFor("director running");
            p.signal("TERM");
            assertThat(p.exit()).as("SIGTERM exits 0 (it was 143); output:\n" + p.output()).isZero();
            assertThat(p.output()).contains("SIGTERM: stopping").contains("stopped")
                    .as("the start-up line naming the I/O transport (epoll on Linux x86-64)")
                    .contains(System.getProperty("os.arch").equals("amd64") ? "I/O transport: epoll (Netty native)"
                            : "I/O transport: ");
        }
    }

    /** A TERM while the director is still starting is kept and handled once it runs: a clean stop, exit 0 (was 143). */
    @Test
    void aSigtermDuringTheStartIsACleanStopOnceItRuns() throws Exception {
        Path file = config("userspace", "127.0.0.1:" + freePort(), freePort());
        try (TierProcess p = TierProcess.start(List.of(), "director", "-c", file.toString())) {
            p.waitFor("director dataplane: userspace"); // logged as the start begins
            p.signal("TERM");
            assertThat(p.exit()).as("a clean stop, exit 0; output:\n" + p.output()).isZero();
            assertThat(p.output()).contains("SIGTERM: stopping").contains("stopped");
        }
    }

    @Test
    void reloadSaysWhyWhenNothingRunsUnderThePidFile() throws Exception {
        Path stale = dir.resolve("stale.pid");
        Process gone = new ProcessBuilder("true").start();
        gone.waitFor();
        Files.writeString(stale, gone.pid() + "\n");
        StringWriter err = new StringWriter();
        assertThat(Main.run(new PrintWriter(new StringWriter(), true), new PrintWriter(err, true), "reload",
                "--pid-file", stale.toString())).isEqualTo(1);
        assertThat(err.toString()).contains("is not running").contains("stale pid file");

        Path foreign = dir.resolve("foreign.pid");
        Process sleeper = new ProcessBuilder("sleep", "30").start();
        try {
            Files.writeString(foreign, sleeper.pid() + "\n");
            StringWriter err2 = new StringWriter();
            assertThat(Main.run(new PrintWriter(new StringWriter(), true), new PrintWriter(err2, true), "reload",
                    "--pid-file", foreign.toString())).isEqualTo(1);
            assertThat(err2.toString()).contains("is not tiergate");
            assertThat(sleeper.isAlive()).as("a foreign process is never signalled").isTrue();
        } finally {
            sleeper.destroyForcibly();
        }
    }

    @Test
    void httpHealthChecksLogOneWarnPerChangeNoResetAndTheJsonLogIsAllJson() throws Exception {
        io.vertx.core.Vertx vertx = io.vertx.core.Vertx.vertx();
        try {
            io.vertx.core.http.HttpServer origin = ProxyOperationsProcessTest.await(vertx.createHttpServer()
                    .requestHandler(r -> r.response().end("ok")).listen(0, "127.0.0.1"));
            int port = origin.actualPort();
            Path file = dir.resolve("director.yaml");
            Files.writeString(file, """
                    logging: {format: json}
                    director:
                      dataplane: userspace
                      admin: 127.0.0.1:%d
                      services:
                        web:
                          vip: 127.0.0.1:%d
                          scheduler: rr
                          health: {type: http, path: /healthz, interval: 100ms, timeout: 100ms, rise: 2, fall: 2}
                          real_servers: [127.0.0.1:%d]
                    """.formatted(freePort(), freePort(), port));
            try (TierProcess p = TierProcess.start(List.of(), "director", "-c", file.toString())) {
                // The first health result may come before or after "director running": don't order them. The
                // shipped example's 100 ms timeout: a cold JVM's first probe (class loading) must not read as DOWN.
                p.waitFor("real server web/127.0.0.1:" + port + " is UP");
                Thread.sleep(1000);
                int from = p.lines.size();
                assertThat(p.lines.subList(0, from).stream().filter(l -> l.contains("-> DOWN")))
                        .as("a cold start logs its servers UP once, no DOWN/UP pair; log:\n" + p.output()).isEmpty();
                ProxyOperationsProcessTest.await(origin.close());
                p.waitFor("UP -> DOWN");
                Thread.sleep(2000); // twenty more failing probes: no more lines
                ProxyOperationsProcessTest.await(vertx.createHttpServer().requestHandler(r -> r.response().end("ok"))
                        .listen(port, "127.0.0.1"));
                p.waitFor("DOWN -> UP");
                p.signal("TERM");
                assertThat(p.exit()).isZero();
                com.fasterxml.jackson.databind.ObjectMapper json = new com.fasterxml.jackson.databind.ObjectMapper();
                for (String line : p.lines) {
                    assertThat(json.readTree(line).path("level").asText()).as("a JSON line: " + line).isNotEmpty();
                }
                List<String> after = p.lines.subList(from, p.lines.size());
                assertThat(after.stream().filter(l -> l.contains("-> DOWN")))
                        .as("one line for the real server going down; log:\n" + p.output()).singleElement()
                        .asString().contains("\"WARN\"").containsPattern("refused|connect");
                assertThat(after.stream().filter(l -> l.contains("DOWN -> UP"))).singleElement()
                        .asString().contains("\"WARN\"");
                assertThat(p.output()).doesNotContain("Stream reset").doesNotContain("Exception");
            }
        } finally {
            ProxyOperationsProcessTest.await(vertx.close());
        }
    }

    static int readyz(int admin) throws Exception {
        return HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + admin + "/readyz"))
                .timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.discarding()).statusCode();
    }
}
