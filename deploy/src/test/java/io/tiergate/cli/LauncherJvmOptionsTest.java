package io.tiergate.cli;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The four ways Tiergate is launched (./tiergate, the image's launcher, the two systemd units) run the JVM with the
 * same settings, the ones docs/operations.md documents, and this JVM accepts them.
 */
class LauncherJvmOptionsTest {
    private static final Pattern DEFAULTS = Pattern.compile("(?m)^jvm_defaults=\"([^\"]*)\"$");
    private static final Pattern UNIT = Pattern.compile("(?m)^ExecStart=/usr/bin/java (.*?) -jar ");

    static String shellDefaults(Path launcher) throws Exception {
        Matcher m = DEFAULTS.matcher(Files.readString(launcher));
        assertThat(m.find()).as(launcher + " sets jvm_defaults").isTrue();
        return m.group(1);
    }

    static String unitOptions(String unit) throws Exception {
        Matcher m = UNIT.matcher(Files.readString(Path.of("systemd", unit)));
        assertThat(m.find()).as(unit + " has an ExecStart running java").isTrue();
        return m.group(1);
    }

    @Test
    void everyLauncherShipsTheSameJvmSettings() throws Exception {
        String shipped = shellDefaults(Path.of("..", "tiergate"));
        assertThat(shipped).contains("-XX:+UseSerialGC").contains("-Xmx");
        assertThat(shellDefaults(Path.of("docker", "tiergate"))).isEqualTo(shipped);
        assertThat(unitOptions("tiergate-proxy.service")).isEqualTo(shipped);
        assertThat(unitOptions("tiergate-director.service")).isEqualTo(shipped);
        assertThat(Files.readString(Path.of("..", "docs", "operations.md")))
                .as("docs/operations.md shows the shipped settings").contains(shipped);
    }

    @Test
    void theJvmAcceptsTheShippedSettings() throws Exception {
        List<String> cmd = new ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        cmd.addAll(List.of(shellDefaults(Path.of("..", "tiergate")).split(" ")));
        cmd.add("-version");
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
        assertThat(p.exitValue()).as(String.join(" ", cmd) + ":\n" + out).isZero();
        assertThat(out).as("no warning about the settings").doesNotContainIgnoringCase("warning");
    }
}
