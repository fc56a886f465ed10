package io.tiergate.shared.config;

import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class ConfigMapTest {
    enum Color implements ConfigEnum {
        RED("red"), ROUND_ROBIN("rr");
        private final String n;

        Color(String n) {
            this.n = n;
        }

        @Override
        public String configName() {
            return n;
        }
    }

    private static ConfigMap parse(String yaml, Problems problems) {
        return ConfigMap.of(YamlLoader.parse("test.yaml", yaml), problems);
    }

    @Test
    void everyProblemIsReportedWithLineColumnPathAndExpectation() {
        String yaml = """
                server:
                  interval: 10 seconds
                  weight: -3
                  colr: red
                """;
        Problems problems = new Problems();
        ConfigMap root = parse(yaml, problems);
        ConfigMap server = root.mapOrEmpty("server");
        server.duration("interval", Duration.ofSeconds(1));
        server.integer("weight", 1, 0, 256);
        server.enumValue("color", Color.class, Color.RED);
        server.finish();
        root.finish();

        assertThat(problems.list()).extracting(Problem::format).containsExactly(
                "test.yaml:2:13: server.interval: '10 seconds' is not a duration (expected: " + Units.DURATION_EXPECTED + ")",
                "test.yaml:3:11: server.weight: -3 is out of range (expected: an integer from 0 to 256)",
                "test.yaml:4:3: server.colr: unknown key 'colr'; did you mean 'color'? (expected: one of interval, weight, color)");
    }

    @Test
    void defaultsApplyWhenKeysAreAbsent() {
        Problems problems = new Problems();
        ConfigMap root = parse("a: 1\n", problems);
        assertThat(root.duration("timeout", Duration.ofMillis(250))).isEqualTo(Duration.ofMillis(250));
        assertThat(root.integer("a", 0, 0, 10)).isEqualTo(1);
        assertThat(root.bool("flag", true)).isTrue();
        assertThat(root.mapOrEmpty("nested").string("x", "dflt")).isEqualTo("dflt");
        root.finish();
        assertThat(problems.isEmpty()).isTrue();
    }

    @Test
    void enumsAcceptTheirConfigNamesAndSuggestOnTypos() {
        Problems problems = new Problems();
        ConfigMap root = parse("a: rr\nb: round-robin\nc: rrr\n", problems);
        assertThat(root.enumValue("a", Color.class, Color.RED)).isEqualTo(Color.ROUND_ROBIN);
        assertThat(root.enumValue("b", Color.class, Color.RED)).isEqualTo(Color.ROUND_ROBIN);
        assertThat(root.enumValue("c", Color.class, Color.RED)).isEqualTo(Color.RED);
        assertThat(problems.format()).contains("test.yaml:3:4: c: unknown value 'rrr'; did you mean 'rr'?");
    }

    @Test
    void wrongShapesAreProblemsNotCrashes() {
        Problems problems = new Problems();
        ConfigMap root = parse("servers: 5\nlist: [a, {b: 1}]\n", problems);
        assertThat(root.mapList("servers")).hasSize(1);
        assertThat(root.stringList("list", List.of())).containsExactly("a");
        assertThat(problems.format()).contains("test.yaml:1:10: servers: is a scalar value (expected: a mapping of key: value)")
                .contains("list[1]: is a mapping (expected: a string)");
    }

    @Test
    void missingRequiredKeyPointsAtTheEnclosingMapping() {
        Problems problems = new Problems();
        ConfigMap root = parse("vip:\n  port: 80\n", problems);
        ConfigMap vip = root.mapOrEmpty("vip");
        assertThat(vip.requireString("address", "an IP address")).isNull();
        assertThat(problems.format()).contains("test.yaml:2:3: vip.address: missing required key 'address' (expected: an IP address)");
    }

    @Test
    void syntaxErrorsAndDuplicateKeysNameTheirLine() {
        assertThatThrownBy(() -> YamlLoader.parse("f.yaml", "a: 1\nb: [unclosed\n"))
                .isInstanceOf(ConfigException.class).hasMessageStartingWith("f.yaml:").hasMessageContaining("YAML syntax error");
        assertThatThrownBy(() -> YamlLoader.parse("f.yaml", "a: 1\na: 2\n"))
                .isInstanceOf(ConfigException.class).hasMessageContaining("f.yaml:2:1: a: duplicate key 'a'");
    }

    @Test
    void sizesAndDurationsWithMinimums() {
        Problems problems = new Problems();
        ConfigMap root = parse("max_body: 10m\ninterval: 0s\n", problems);
        assertThat(root.size("max_body", 0)).isEqualTo(10L << 20);
        assertThat(root.duration("interval", Duration.ofSeconds(1), Duration.ofMillis(1))).isEqualTo(Duration.ofSeconds(1));
        assertThat(problems.format()).contains("interval: 0s is too small (expected: at least 1ms)");
    }
}
