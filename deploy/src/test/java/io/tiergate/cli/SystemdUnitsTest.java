package io.tiergate.cli;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The shipped systemd units load in systemd ({@code systemd-analyze verify}), and their command lines are ones the
 * CLI accepts: the ExecStartPre check passes on the example config and ExecStart's options parse.
 */
class SystemdUnitsTest {
    static final Path UNITS = Path.of("systemd");

    @ParameterizedTest
    @ValueSource(strings = {"tiergate-proxy.service", "tiergate-director.service"})
    void systemdLoadsTheUnit(String unit) throws Exception {
        Assumptions.assumeTrue(Files.isExecutable(Path.of("/usr/bin/systemd-analyze"))
                        && Files.isExecutable(Path.of("/usr/bin/java")),
                "skipped: systemd-analyze verify needs /usr/bin/systemd-analyze and /usr/bin/java (the units' java)");
        Process p = new ProcessBuilder("systemd-analyze", "verify", "--man=no", UNITS.resolve(unit).toString())
                .redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
        assertThat(out).as("systemd-analyze verify " + unit).isEmpty();
        assertThat(p.exitValue()).isZero();
    }

    @ParameterizedTest
    @ValueSource(strings = {"tiergate-proxy.service", "tiergate-director.service"})
    void theUnitsCommandLinesAreOnesTheCliAccepts(String unit) throws Exception {
        String tier = unit.contains("proxy") ? "proxy" : "director";
        String example = "examples/" + tier + ".yaml";
        List<String> pre = args(unit, "ExecStartPre=", example);
        DirectorCommandTest.Run check = DirectorCommandTest.tiergate(pre.toArray(String[]::new));
        assertThat(check.exit()).as(String.join(" ", pre) + ": " + check.err()).isZero();
        assertThat(check.out()).contains("OK (" + tier + ")");

        // ExecStart's options, with -t so that it parses them and validates instead of running
        List<String> start = args(unit, "ExecStart=", example);
        start.add(1, "-t");
        DirectorCommandTest.Run parsed = DirectorCommandTest.tiergate(start.toArray(String[]::new));
        assertThat(parsed.exit()).as(String.join(" ", start) + ": " + parsed.err()).isZero();
    }

    /** The tiergate arguments of {@code key}'s line (after the jar), with the config path pointing at {@code config}. */
    static List<String> args(String unit, String key, String config) throws Exception {
        for (String line : Files.readAllLines(UNITS.resolve(unit))) {
            if (line.startsWith(key)) {
                List<String> words = new ArrayList<>(Arrays.asList(line.substring(key.length()).trim().split("\\s+")));
                int jar = words.indexOf("/opt/tiergate/tiergate.jar");
                List<String> rest = new ArrayList<>(words.subList(jar + 1, words.size()));
                rest.replaceAll(w -> w.equals("/etc/tiergate/tiergate.yaml") ? config : w);
                return rest;
            }
        }
        throw new AssertionError(unit + " has no " + key);
    }
}
