package io.tiergate.proxy.tls;

import io.tiergate.proxy.ProxyNode;
import io.tiergate.proxy.support.Origin;
import io.tiergate.proxy.support.Proxies;
import io.vertx.core.Vertx;
import io.vertx.core.net.SelfSignedCertificate;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * A returning TLS client resumes its session, as it does against nginx and HAProxy: with a TLS 1.3 session ticket,
 * and with TLS 1.2, on both engines. The client is OpenSSL's {@code s_client}, which saves the session it got and
 * offers it on its next connection. It sends a request and reads the answer, as browsers do: a TLS 1.3 ticket arrives
 * after the handshake, so a client that reads nothing never gets one.
 */
@Timeout(90)
class SessionResumptionTest {
    private static final String REQUEST = "GET / HTTP/1.1\r\nHost: site.example\r\nConnection: close\r\n\r\n";

    @TempDir
    Path dir;
    Vertx vertx;
    Origin origin;
    ProxyNode proxy;
    int port;
    final List<ProxyNode> others = new ArrayList<>();

    private void start(String engine) throws Exception {
        start(engine, "");
    }

    /** One proxy node; {@code tlsExtra} is added to its listener's tls settings. */
    private void start(String engine, String tlsExtra) throws Exception {
        if (engine.equals("jdk")) {
            System.setProperty(TlsEngine.PROPERTY, "jdk");
        }
        vertx = io.tiergate.shared.runtime.Runtimes.vertx();
        origin = Origin.start(vertx, "origin", (o, req, body) -> req.response().end("ok"));
        install(SelfSignedCertificate.create("site.example"));
        proxy = node(tlsExtra);
        port = proxy.listenPorts().get(0);
    }

    /** Another node in front of the same origin, with the same certificate files. */
    private ProxyNode node(String tlsExtra) {
        ProxyNode n = Proxies.start(vertx, yaml(tlsExtra));
        if (proxy != null) {
            others.add(n);
        }
        return n;
    }

    private String yaml(String tlsExtra) {
        return """
                access_log: {format: off}
                listeners:
                  - {name: https, address: 127.0.0.1:0, tls: {certificates: [{cert: %s, key: %s}]%s}}
                upstreams: {app: {servers: ["%s"]}}
                servers: [{default: true, locations: [{prefix: /, upstream: app}]}]
                """.formatted(dir.resolve("site.pem"), dir.resolve("site.key"), tlsExtra, origin.address());
    }

    @AfterEach
    void stop() {
        System.clearProperty(TlsEngine.PROPERTY);
        for (ProxyNode n : others) {
            Origin.await(n.shutdown(Duration.ZERO));
        }
        if (proxy != null) {
            Origin.await(proxy.shutdown(Duration.ZERO));
        }
        if (vertx != null) {
            Origin.await(vertx.close());
        }
    }

    @ParameterizedTest(name = "engine {0}")
    @ValueSource(strings = {"default", "jdk"})
    void aReturningClientResumesItsSession(String engine) throws Exception {
        start(engine);
        for (String version : new String[] {"-tls1_3", "-tls1_2"}) {
            Path session = dir.resolve("session" + version);
            String first = sClient(version, "-sess_out", session.toString());
            assertThat(first).as("first connection, %s", version).contains("HTTP/1.1 200 OK").contains("\r\n\r\nok")
                    .containsPattern("(?m)^New, TLSv1\\.[23]");
            assertThat(session).as("the client kept a session (%s)", version).isNotEmptyFile();

            String second = sClient(version, "-sess_in", session.toString());
            assertThat(second).as("second connection, %s: the session is resumed", version)
                    .containsPattern("(?m)^Reused, TLSv1\\." + (version.endsWith("3") ? "3" : "2"))
                    .contains("HTTP/1.1 200 OK").contains("\r\n\r\nok");
        }
    }

    @Test
    void afterACertificateRenewalAReturningClientGetsAFullHandshakeWithTheNewCertificate() throws Exception {
        start("default");
        Path session = dir.resolve("session");
        assertThat(sClient("-tls1_3", "-sess_out", session.toString())).contains("HTTP/1.1 200 OK");
        assertThat(sClient("-tls1_3", "-sess_in", session.toString())).containsPattern("(?m)^Reused, ");

        SelfSignedCertificate renewed = SelfSignedCertificate.create("site.example");
        install(renewed);
        assertThat(Origin.await(proxy.reloadCertificates())).hasSize(1);

        // A session from before the renewal (perhaps of a key that leaked) must not keep the old certificate alive.
        String after = sClient("-tls1_3", "-sess_in", session.toString());
        assertThat(after).containsPattern("(?m)^New, TLSv1\\.3").contains("HTTP/1.1 200 OK");
        assertThat(pem(after)).as("the certificate the server sent").isEqualTo(pem(Files.readString(dir.resolve("site.pem"))));
    }

    @Test
    void nodesSharingTicketKeysResumeEachOthersSessionsAndNodesWithoutThemDoNot() throws Exception {
        Path key = ticketKey("ticket.key");
        start("default", ", session_ticket_keys: [" + key + "]");
        int shared = node(", session_ticket_keys: [" + key + "]").listenPorts().get(0);
        int own = node("").listenPorts().get(0);
        for (String version : new String[] {"-tls1_3", "-tls1_2"}) {
            Path session = dir.resolve("session" + version);
            assertThat(sClient(port, version, "-sess_out", session.toString())).contains("HTTP/1.1 200 OK");
            assertThat(sClient(shared, version, "-sess_in", session.toString()))
                    .as("another node with the same key file resumes the session (%s)", version)
                    .containsPattern("(?m)^Reused, ").contains("HTTP/1.1 200 OK");
            assertThat(sClient(own, version, "-sess_in", session.toString()))
                    .as("a node with its own key cannot read the ticket: a full handshake (%s)", version)
                    .containsPattern("(?m)^New, ").contains("HTTP/1.1 200 OK");
        }
    }

    @Test
    void rotatedKeysKeepResumingTicketsOfThePreviousKeyUntilItIsDropped() throws Exception {
        Path current = ticketKey("current.key");
        Path previous = ticketKey("previous.key");
        start("default", ", session_ticket_keys: [" + current + ", " + previous + "]");
        Path session = dir.resolve("session");
        assertThat(sClient(port, "-tls1_3", "-sess_out", session.toString())).contains("HTTP/1.1 200 OK");

        // Rotation as an operator scripts it on every node: the current key becomes the previous one, a new one
        // becomes current, in place; then a reload (SIGHUP, or the file watch) loads them with the certificates.
        Files.copy(current, previous, StandardCopyOption.REPLACE_EXISTING);
        replace(current, random(48));
        assertThat(Origin.await(proxy.reloadCertificates())).singleElement().asString().contains("listener 'https'");
        assertThat(sClient(port, "-tls1_3", "-sess_in", session.toString()))
                .as("a ticket of the previous key still resumes").containsPattern("(?m)^Reused, ");

        Files.copy(current, previous, StandardCopyOption.REPLACE_EXISTING);
        replace(current, random(48));
        assertThat(Origin.await(proxy.reloadCertificates())).hasSize(1);
        assertThat(sClient(port, "-tls1_3", "-sess_in", session.toString()))
                .as("its key is gone from every slot: a full handshake, no error")
                .containsPattern("(?m)^New, TLSv1\\.3").contains("HTTP/1.1 200 OK");
    }

    @Test
    void keysAddedByAConfigReloadAreUsedOnTheSameSocket() throws Exception {
        start("default");
        Path key = ticketKey("ticket.key");
        int shared = node(", session_ticket_keys: [" + key + "]").listenPorts().get(0);
        // the listener must keep its port across the reload: give the config the port it got, then the key file
        Origin.await(proxy.reload(Proxies.config(yaml("").replace("127.0.0.1:0", "127.0.0.1:" + port))));
        Origin.await(proxy.reload(Proxies.config(yaml(", session_ticket_keys: [" + key + "]")
                .replace("127.0.0.1:0", "127.0.0.1:" + port))));
        assertThat(proxy.listenPorts()).as("the same socket, not a rebind").containsExactly(port);
        Path session = dir.resolve("session");
        assertThat(sClient(port, "-tls1_3", "-sess_out", session.toString())).contains("HTTP/1.1 200 OK");
        assertThat(sClient(shared, "-tls1_3", "-sess_in", session.toString()))
                .as("a ticket of the reloaded listener is one of the shared key").containsPattern("(?m)^Reused, ");
    }

    @Test
    void aBadKeyFileAtReloadIsRefusedAndTheKeysInUseKeepResuming() throws Exception {
        Path key = ticketKey("ticket.key");
        start("default", ", session_ticket_keys: [" + key + "]");
        Path session = dir.resolve("session");
        assertThat(sClient(port, "-tls1_3", "-sess_out", session.toString())).contains("HTTP/1.1 200 OK");

        replace(key, random(47)); // a half-written rotation
        assertThatThrownBy(() -> Origin.await(proxy.reloadCertificates()))
                .hasMessageContaining("listener 'https'")
                .hasMessageContaining("session ticket key " + key + " is 47 bytes, not 48")
                .hasMessageContaining("openssl rand 48 > " + key)
                .hasMessageContaining("still serving the previous certificate");
        assertThat(sClient(port, "-tls1_3", "-sess_in", session.toString()))
                .as("the keys loaded before still resume").containsPattern("(?m)^Reused, ");
    }

    @Test
    void keyFilesAreCheckedWhenTheConfigIsRead() throws Exception {
        Path eighty = dir.resolve("nginx-aes256.key");
        Files.write(eighty, random(80));
        Path missing = dir.resolve("nowhere.key");
        SelfSignedCertificate c = SelfSignedCertificate.create("site.example");
        io.tiergate.shared.config.Problems problems = new io.tiergate.shared.config.Problems();
        io.tiergate.proxy.config.ProxyConfig.parse(io.tiergate.shared.config.ConfigMap.of(
                io.tiergate.shared.config.YamlLoader.parse("proxy.yaml", """
                        listeners:
                          - address: 127.0.0.1:0
                            tls:
                              certificates: [{cert: %s, key: %s}]
                              session_ticket_keys: [%s, %s]
                        upstreams: {app: {servers: [127.0.0.1:1]}}
                        """.formatted(c.certificatePath(), c.privateKeyPath(), eighty, missing)), problems));
        assertThat(problems.format())
                .contains("proxy.yaml:5:")
                .contains("session ticket key " + eighty + " is 80 bytes, not 48")
                .contains("openssl rand 48 > " + eighty)
                .contains("cannot read session ticket key " + missing);
    }

    private Path ticketKey(String name) throws Exception {
        Path f = dir.resolve(name);
        Files.write(f, random(48));
        return f;
    }

    private static byte[] random(int n) {
        byte[] b = new byte[n];
        new java.security.SecureRandom().nextBytes(b);
        return b;
    }

    /** New contents at {@code file}'s path by rename. */
    private void replace(Path file, byte[] contents) throws Exception {
        Path tmp = Files.createTempFile(dir, "new", ".key");
        Files.write(tmp, contents);
        Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    }

    /** Writes a pair over the listener's files by rename, as renewal tools do. */
    private void install(SelfSignedCertificate c) throws Exception {
        copy(Path.of(c.certificatePath()), dir.resolve("site.pem"));
        copy(Path.of(c.privateKeyPath()), dir.resolve("site.key"));
    }

    private void copy(Path from, Path to) throws Exception {
        Path tmp = Files.createTempFile(dir, "new", ".pem");
        Files.copy(from, tmp, StandardCopyOption.REPLACE_EXISTING);
        Files.move(tmp, to, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    }

    /** The first PEM certificate in {@code text}, without line breaks. */
    private static String pem(String text) {
        int from = text.indexOf("-----BEGIN CERTIFICATE-----");
        int to = text.indexOf("-----END CERTIFICATE-----", from);
        assertThat(from).as("a certificate in:\n%s", text).isNotNegative();
        return text.substring(from, to).replaceAll("\\s", "");
    }

    /** One connection of {@code openssl s_client}: the request, then all it printed until the server closed. */
    private String sClient(String version, String sessionOption, String sessionFile) throws Exception {
        return sClient(port, version, sessionOption, sessionFile);
    }

    private String sClient(int port, String version, String sessionOption, String sessionFile) throws Exception {
        Path out = Files.createTempFile(dir, "s_client", ".out");
        Process p = new ProcessBuilder("openssl", "s_client", "-connect", "127.0.0.1:" + port, "-servername",
                "site.example", version, sessionOption, sessionFile, "-ign_eof")
                .redirectErrorStream(true).redirectOutput(out.toFile()).start();
        p.getOutputStream().write(REQUEST.getBytes(StandardCharsets.US_ASCII));
        p.getOutputStream().close();
        boolean exited = p.waitFor(30, TimeUnit.SECONDS);
        p.destroyForcibly();
        assertThat(exited).as("s_client exits once the server closed:\n%s", Files.readString(out,
                StandardCharsets.ISO_8859_1)).isTrue();
        return Files.readString(out, StandardCharsets.ISO_8859_1);
    }
}
