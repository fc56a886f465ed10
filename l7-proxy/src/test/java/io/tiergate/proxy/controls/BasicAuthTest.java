package io.tiergate.proxy.controls;

import io.tiergate.proxy.ProxyNode;
import io.tiergate.proxy.support.Origin;
import io.tiergate.proxy.support.Proxies;
import io.vertx.core.Vertx;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Base64;
import java.util.function.IntSupplier;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * auth_basic against htpasswd files made by real tools: bcrypt from libxcrypt (python3's crypt), SHA-crypt from
 * {@code openssl passwd -5/-6}.
 */
@Timeout(90)
class BasicAuthTest {
    @TempDir
    Path dir;
    Vertx vertx;
    Origin origin;
    ProxyNode proxy;
    int port;
    Path users;
    String yaml;

    static String tool(String... cmd) throws Exception {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
        assertThat(p.waitFor()).as("%s: %s", String.join(" ", cmd), out).isZero();
        return out;
    }

    static String bcrypt(String password) throws Exception {
        return tool("python3", "-W", "ignore", "-c", "import crypt,sys; print(crypt.crypt(sys.argv[1], "
                + "crypt.mksalt(crypt.METHOD_BLOWFISH, rounds=16)))", password);
    }

    static String basic(String user, String password) {
        return "Basic " + Base64.getEncoder().encodeToString((user + ":" + password).getBytes(StandardCharsets.UTF_8));
    }

    @BeforeEach
    void setUp() throws Exception {
        vertx = io.tiergate.shared.runtime.Runtimes.vertx();
        origin = Origin.start(vertx, "app", (o, req, body) -> req.response().end("ok\n"));
        users = dir.resolve("htpasswd");
        Files.writeString(users, "# staff\nalice:" + bcrypt("alice-pw") + "\n"
                + "bob:" + tool("openssl", "passwd", "-6", "bob-pw") + "\n"
                + "carol:" + tool("openssl", "passwd", "-5", "carol-pw") + "\n");
        yaml = """
                access_log: {format: off}
                listeners: [{address: 127.0.0.1:0}]
                upstreams: {app: {servers: [%s]}}
                servers:
                  - default: true
                    auth_basic: {realm: Staff only, user_file: %s}
                    locations:
                      - {prefix: /, upstream: app}
                      - {prefix: /public/, upstream: app, auth_basic: off}
                """.formatted(origin.address(), users);
        proxy = Proxies.start(vertx, yaml);
        port = proxy.listenPorts().get(0);
    }

    @AfterEach
    void tearDown() {
        Origin.await(proxy.shutdown(Duration.ofSeconds(1)));
        origin.close();
        Origin.await(vertx.close());
    }

    int as(String user, String password) {
        return Http.get("127.0.0.1", port, "/x", "Authorization", basic(user, password)).status();
    }

    @Test
    void challengesRefusesAndAdmits() {
        Http.Reply none = Http.get("127.0.0.1", port, "/x");
        assertThat(none.status()).isEqualTo(401);
        assertThat(none.header("WWW-Authenticate")).isEqualTo("Basic realm=\"Staff only\", charset=\"UTF-8\"");
        assertThat(as("alice", "wrong")).isEqualTo(401);
        assertThat(as("mallory", "alice-pw")).isEqualTo(401);
        assertThat(Http.get("127.0.0.1", port, "/x", "Authorization", "Basic !!!notbase64").status()).isEqualTo(401);
        assertThat(Http.get("127.0.0.1", port, "/x", "Authorization", "Bearer abc").status()).isEqualTo(401);
        assertThat(origin.hits.get()).isZero();
        assertThat(as("alice", "alice-pw")).isEqualTo(200); // bcrypt $2b$
        assertThat(as("alice", "alice-pw")).isEqualTo(200); // (now from the verification cache)
        assertThat(as("bob", "bob-pw")).isEqualTo(200);     // SHA-512 crypt $6$
        assertThat(as("carol", "carol-pw")).isEqualTo(200); // SHA-256 crypt $5$
        assertThat(as("bob", "carol-pw")).isEqualTo(401);
        assertThat(Http.get("127.0.0.1", port, "/public/x").status()).isEqualTo(200);
        assertThat(proxy.meterRegistry().find("tiergate_proxy_limited_requests").tag("limit", "auth_basic")
                .tag("action", "rejected").counter().count()).isEqualTo(6);
    }

    @Test
    void aChangedFileIsReReadAndABrokenEditKeepsTheOldUsers() throws Exception {
        assertThat(as("alice", "alice-pw")).isEqualTo(200);
        assertThat(as("dave", "dave-pw")).isEqualTo(401);
        Files.writeString(users, "dave:" + bcrypt("dave-pw") + "\n");
        awaitStatus(() -> as("dave", "dave-pw"), 200);
        assertThat(as("alice", "alice-pw")).as("alice was removed, her cached success too").isEqualTo(401);
        // A line with an MD5 hash: the edit is refused (and logged), dave keeps working.
        Files.writeString(users, "dave:" + tool("openssl", "passwd", "-apr1", "new-pw") + "\n");
        Thread.sleep(2500);
        assertThat(as("dave", "dave-pw")).isEqualTo(200);
        assertThat(as("dave", "new-pw")).isEqualTo(401);
    }

    @Test
    void aReloadReReadsTheFileEvenWhenItLooksUnchanged() throws Exception {
        assertThat(as("alice", "alice-pw")).isEqualTo(200);
        // Same length, same modification time: the change watcher cannot see it; a reload (SIGHUP) must.
        var mtime = Files.getLastModifiedTime(users);
        String before = Files.readString(users);
        String after = before.replaceFirst("alice:[^\n]+",
                java.util.regex.Matcher.quoteReplacement("alice:" + bcrypt("alice-p2")));
        assertThat(after).hasSameSizeAs(before);
        Files.writeString(users, after);
        Files.setLastModifiedTime(users, mtime);
        Thread.sleep(2500);
        assertThat(as("alice", "alice-p2")).as("not yet: nothing told the proxy").isEqualTo(401);
        Origin.await(proxy.reload(Proxies.config(yaml))); // what SIGHUP does: parse the file again, swap

        assertThat(as("alice", "alice-p2")).isEqualTo(200);
        assertThat(as("alice", "alice-pw")).isEqualTo(401);
    }

    static void awaitStatus(IntSupplier s, int want) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(15).toNanos();
        int last = -1;
        while (System.nanoTime() < deadline) {
            last = s.getAsInt();
            if (last == want) {
                return;
            }
            Thread.sleep(100);
        }
        assertThat(last).as("status within 15 s").isEqualTo(want);
    }
}
