package io.tiergate.cli;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

class ConfigCheckTest {
    @TempDir
    Path dir;

    record Run(int exit, String out, String err) {
    }

    static Run tiergate(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int code = Main.run(new PrintWriter(out, true), new PrintWriter(err, true), args);
        return new Run(code, out.toString(), err.toString());
    }

    @Test
    void threeMistakesAreAllReportedWithLineNumbersAndExitCode2() throws IOException {
        Path f = dir.resolve("bad.yaml");
        Files.writeString(f, """
                logging:
                  formt: json
                  level: loud
                proxyy: {}
                """);
        Run r = tiergate("config", "check", f.toString());
        assertThat(r.exit()).as("exit code for an invalid config").isEqualTo(2);
        assertThat(r.err()).as("every problem, each with FILE:LINE:COL and path")
                .contains(f + ":2:3: logging.formt: unknown key 'formt'; did you mean 'format'?")
                .contains(f + ":3:10: logging.level: unknown log level 'loud'")
                .contains(f + ":4:1: proxyy: unknown key 'proxyy'; did you mean 'proxy'?")
                .contains("3 problems")
                .doesNotContain("Exception").doesNotContain("\tat ");
    }

    @Test
    void missingFileIsAClearErrorNotAStackTrace() {
        Run r = tiergate("config", "check", dir.resolve("nope.yaml").toString());
        assertThat(r.exit()).isEqualTo(2);
        assertThat(r.err()).contains("nope.yaml: cannot read file: No such file or directory").doesNotContain("\tat ");
    }

    @Test
    void yamlSyntaxErrorNamesTheLine() throws IOException {
        Path f = dir.resolve("syntax.yaml");
        Files.writeString(f, "proxy:\n  listen: [oops\n");
        Run r = tiergate("config", "check", f.toString());
        assertThat(r.exit()).isEqualTo(2);
        assertThat(r.err()).startsWith(f + ":").contains("YAML syntax error");
    }

    @Test
    void unknownFlagIsAUsageErrorWithAHint() {
        Run r = tiergate("config", "check", "--frobnicate", "x.yaml");
        assertThat(r.exit()).isEqualTo(2);
        assertThat(r.err()).contains("Unknown option: '--frobnicate'").contains("--help");
    }

    @Test
    void versionAndHelpWork() {
        Run v = tiergate("--version");
        assertThat(v.exit()).isZero();
        assertThat(v.out()).startsWith("tiergate ");
        Run h = tiergate("--help");
        assertThat(h.exit()).isZero();
        assertThat(h.out()).contains("director").contains("proxy").contains("config").contains("Examples:");
    }

    @Test
    void vrrpInstancesAreOneFamily() throws IOException {
        Path v6 = dir.resolve("v6.yaml");
        Files.writeString(v6, """
                director:
                  vrrp: {interface: eth0, vrid: 43, virtual_addresses: ["2001:db8::10/64"]}
                  services:
                    web6: {vip: "[2001:db8::10]:80", real_servers: ["[2001:db8::11]:80"]}
                """);
        Run ok = tiergate("config", "check", v6.toString());
        assertThat(ok.exit()).as(ok.err()).isZero();

        Path mixed = dir.resolve("mixed.yaml");
        Files.writeString(mixed, """
                director:
                  vrrp: {interface: eth0, vrid: 43, virtual_addresses: [192.0.2.10/24, "2001:db8::10/64"]}
                  services:
                    web: {vip: "192.0.2.10:80", real_servers: ["192.0.2.11:80"]}
                """);
        Run r = tiergate("config", "check", mixed.toString());
        assertThat(r.exit()).isEqualTo(2);
        assertThat(r.err()).contains(mixed + ":2:72: director.vrrp.virtual_addresses[1]: '2001:db8::10/64' is IPv6, "
                + "but the first VIP of this vrrp instance is IPv4").doesNotContain("\tat ");
    }
}
