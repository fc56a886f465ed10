package io.tiergate.cli;

import io.vertx.core.net.SelfSignedCertificate;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;

import static io.tiergate.cli.ConfigCheckTest.tiergate;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@code tiergate config check} on the mistakes an operator makes in the first week: each is a config error (exit 2)
 * that says where (FILE:LINE:COL) and why, never a stack trace, and the same check guards every reload.
 */
class ConfigValidationTest {
    @TempDir
    Path dir;

    private Path write(String name, String yaml) throws IOException {
        Path f = dir.resolve(name);
        Files.writeString(f, yaml);
        return f;
    }

    private static String proxy(String listeners, String extra) {
        return """
                proxy:
                  listeners:
                %s
                  upstreams: {app: {servers: [127.0.0.1:9000]}}
                  servers: [{default: true, locations: [{prefix: /, upstream: app}]}]
                %s""".formatted(listeners, extra);
    }

    @Test
    void twoListenersOnOneAddressAreAnErrorNamingBothPlaces() throws IOException {
        Path f = write("dup.yaml", proxy("""
                    - {name: a, address: 0.0.0.0:8080}
                    - {name: b, address: 127.0.0.1:8080}
                    - {name: c, address: 127.0.0.1:8081}
                    - {name: d, address: "[::1]:8081"}
                """, "  admin: 127.0.0.1:8081\n"));
        ConfigCheckTest.Run r = tiergate("config", "check", f.toString());
        assertThat(r.exit()).isEqualTo(2);
        assertThat(r.err())
                .as("a wildcard and an address of its family on one port clash; both places are named")
                .contains(f + ":4:26: proxy.listeners[1].address: listener 'b' binds 127.0.0.1:8080, which listener 'a'"
                        + " at " + f + ":3:26 already binds (0.0.0.0:8080)")
                .as("the admin endpoint is a socket too")
                .contains(f + ":10:10: proxy.admin: admin binds 127.0.0.1:8081, which listener 'c' at " + f + ":5:26")
                .as("different families on one port do not clash").doesNotContain("listener 'd' binds")
                .doesNotContain("\tat ");
    }

    @Test
    void aKeyThatDoesNotBelongToItsCertificateIsAConfigErrorNamingTheFiles() throws IOException {
        SelfSignedCertificate a = SelfSignedCertificate.create("a.example");
        SelfSignedCertificate b = SelfSignedCertificate.create("b.example");
        Path f = write("mismatch.yaml", proxy("""
                    - address: 127.0.0.1:8443
                      tls: {certificates: [{cert: %s, key: %s}]}
                """.formatted(a.certificatePath(), b.privateKeyPath()), ""));
        ConfigCheckTest.Run r = tiergate("config", "check", f.toString());
        assertThat(r.exit()).isEqualTo(2);
        assertThat(r.err()).contains(f + ":4:").contains("proxy.listeners[0].tls.certificates[0].key: the key in "
                + b.privateKeyPath() + " does not belong to the certificate in " + a.certificatePath());

        Path ok = write("match.yaml", proxy("""
                    - address: 127.0.0.1:8443
                      tls: {certificates: [{cert: %s, key: %s}]}
                """.formatted(a.certificatePath(), a.privateKeyPath()), ""));
        assertThat(tiergate("config", "check", ok.toString()).exit()).as("the right pair passes").isZero();
    }

    @Test
    void unreadableFilesSayWhy() throws IOException {
        SelfSignedCertificate a = SelfSignedCertificate.create("a.example");
        // Mode 0200 even for root: reading it fails with EACCES whoever runs the test.
        Path denied = Path.of("/proc/sys/net/ipv4/route/flush");
        Path f = write("files.yaml", proxy("""
                    - address: 127.0.0.1:8443
                      tls: {certificates: [{cert: %s, key: %s}]}
                    - address: 127.0.0.1:8444
                      tls: {certificates: [{cert: %s, key: %s}]}
                """.formatted(dir.resolve("missing.pem"), a.privateKeyPath(), dir, denied), ""));
        ConfigCheckTest.Run r = tiergate("config", "check", f.toString());
        assertThat(r.exit()).isEqualTo(2);
        assertThat(r.err())
                .contains("cannot read " + dir.resolve("missing.pem") + ": No such file or directory")
                .contains("cannot read " + dir + ": Is a directory");
        if (Files.exists(denied)) {
            assertThat(r.err()).contains("cannot read " + denied + ": Permission denied");
            assertThat(tiergate("config", "check", denied.toString()).err())
                    .contains(denied + ": cannot read file: Permission denied");
        }
        assertThat(tiergate("config", "check", dir.resolve("nope.yaml").toString()).err())
                .contains("nope.yaml: cannot read file: No such file or directory");
    }

    @Test
    void aReturnLocationNeedsNoUpstream() throws IOException {
        Path f = write("return.yaml", """
                proxy:
                  listeners: [{address: 127.0.0.1:8080}]
                  servers:
                    - default: true
                      locations:
                        - {prefix: /, return: "301 https://example.com$request_uri"}
                        - {exact: /healthz, return: "200 ok"}
                """);
        ConfigCheckTest.Run r = tiergate("config", "check", f.toString());
        assertThat(r.err()).doesNotContain("upstream");
        assertThat(r.exit()).isZero();
    }

    @Test
    void aTooLargeFileSaysSoInsteadOfASyntaxError() throws IOException {
        Path f = dir.resolve("huge.yaml");
        try (OutputStream out = Files.newOutputStream(f)) {
            byte[] line = "# padding padding padding padding padding padding padding padding padding padding\n"
                    .getBytes();
            for (long n = 0; n <= (17L << 20) / line.length; n++) {
                out.write(line);
            }
        }
        ConfigCheckTest.Run r = tiergate("config", "check", f.toString());
        assertThat(r.exit()).isEqualTo(2);
        assertThat(r.err()).contains(f + ": file is too large: ").contains("16m")
                .doesNotContain("YAML syntax error");
    }

    @Test
    void aYamlSyntaxErrorKeepsTheParsersExplanationAndPlace() throws IOException {
        Path f = write("syntax.yaml", "proxy:\n  limits: {max_body_size: 1m\n  timeouts: {}\n");
        ConfigCheckTest.Run r = tiergate("config", "check", f.toString());
        assertThat(r.exit()).isEqualTo(2);
        assertThat(r.err()).contains(f + ":3:11: YAML syntax error: expected ',' or '}', but got :"
                + " (while parsing a flow mapping that starts at line 2, column 11)");
    }
}
