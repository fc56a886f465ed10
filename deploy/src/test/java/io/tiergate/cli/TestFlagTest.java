package io.tiergate.cli;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import static io.tiergate.cli.DirectorCommandTest.tiergate;
import static org.assertj.core.api.Assertions.assertThat;

/** {@code tiergate proxy -t -c FILE} and {@code tiergate director -t -c FILE}: nginx -t, i.e. {@code config check}. */
class TestFlagTest {
    @TempDir
    Path dir;

    @Test
    void theShippedExamplesPassAndNothingIsStarted() {
        DirectorCommandTest.Run p = tiergate("proxy", "-t", "-c", "examples/proxy.yaml");
        assertThat(p.exit()).as(p.err()).isZero();
        assertThat(p.out()).contains("examples/proxy.yaml: OK (proxy)");
        DirectorCommandTest.Run d = tiergate("director", "-t", "-c", "examples/director.yaml");
        assertThat(d.exit()).as(d.err()).isZero();
        assertThat(d.out()).contains("examples/director.yaml: OK (director)");
    }

    @Test
    void anInvalidFileReportsEveryProblemLikeConfigCheckAndExits2() throws Exception {
        Path f = dir.resolve("bad.yaml");
        Files.writeString(f, "proxy:\n  listeners: [{address: 127.0.0.1:99999}]\n");
        DirectorCommandTest.Run t = tiergate("proxy", "-t", "-c", f.toString());
        DirectorCommandTest.Run check = tiergate("config", "check", f.toString());
        assertThat(t.exit()).isEqualTo(2);
        assertThat(t.err()).as("the same report as config check").isEqualTo(check.err()).contains(f + ":2:");
    }

    @Test
    void aFileWithoutTheTiersSectionIsRejected() {
        DirectorCommandTest.Run r = tiergate("proxy", "-t", "-c", "examples/director.yaml");
        assertThat(r.exit()).isEqualTo(2);
        assertThat(r.err()).contains("examples/director.yaml has no 'proxy:' section");
    }
}
