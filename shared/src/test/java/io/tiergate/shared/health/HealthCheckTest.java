package io.tiergate.shared.health;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

class HealthCheckTest {

    @Test
    void defaultsMatchWhatOperatorsExpect() {
        HealthCheck c = HealthCheck.tcp();
        assertThat(c.interval()).isEqualTo(Duration.ofSeconds(1));
        assertThat(c.timeout()).isEqualTo(Duration.ofSeconds(1));
        assertThat(c.rise()).isEqualTo(2);
        assertThat(c.fall()).isEqualTo(3);
        HealthCheck h = HealthCheck.http("/health");
        assertThat(h.statusOk(200)).isTrue();
        assertThat(h.statusOk(399)).isTrue();
        assertThat(h.statusOk(404)).isFalse();
        assertThat(h.statusOk(199)).isFalse();
    }

    @Test
    void timeoutLongerThanIntervalIsClampedToIt() {
        HealthCheck c = HealthCheck.tcp(Duration.ofMillis(200), Duration.ofSeconds(5), 1, 1);
        assertThat(c.timeout()).isEqualTo(Duration.ofMillis(200));
    }

    @Test
    void explicitStatusSetReplacesTheDefaultRange() {
        HealthCheck c = HealthCheck.http(Duration.ofSeconds(1), Duration.ofSeconds(1), 1, 1, "/", null, Set.of(204), null);
        assertThat(c.statusOk(204)).isTrue();
        assertThat(c.statusOk(200)).isFalse();
    }

    @Test
    void eachBadArgumentIsNamedWithWhatWasExpected() {
        assertThatThrownBy(() -> HealthCheck.tcp(Duration.ZERO, Duration.ofSeconds(1), 1, 1))
                .hasMessage("interval: 0s (expected: > 0)");
        assertThatThrownBy(() -> HealthCheck.tcp(Duration.ofSeconds(1), Duration.ofMillis(-5), 1, 1))
                .hasMessage("timeout: -5ms (expected: > 0)");
        assertThatThrownBy(() -> HealthCheck.tcp(Duration.ofNanos(10), Duration.ofSeconds(1), 1, 1))
                .hasMessageStartingWith("interval: ").hasMessageEndingWith("(expected: >= 1ms)");
        assertThatThrownBy(() -> HealthCheck.tcp(Duration.ofSeconds(1), Duration.ofSeconds(1), 0, 1))
                .hasMessage("rise: 0 (expected: >= 1)");
        assertThatThrownBy(() -> HealthCheck.tcp(Duration.ofSeconds(1), Duration.ofSeconds(1), 1, -2))
                .hasMessage("fall: -2 (expected: >= 1)");
        assertThatThrownBy(() -> HealthCheck.http(Duration.ofSeconds(1), Duration.ofSeconds(1), 1, 1, "health", null, null, null))
                .hasMessage("httpPath: \"health\" (expected: starts with /)");
        assertThatThrownBy(() -> HealthCheck.http(Duration.ofSeconds(1), Duration.ofSeconds(1), 1, 1, "/", null, Set.of(700), null))
                .hasMessage("expectStatus: 700 (expected: 100..599)");
        assertThatThrownBy(() -> HealthCheck.command(Duration.ofSeconds(1), Duration.ofSeconds(1), 1, 1, List.of()))
                .hasMessage("command: [] (expected: program and arguments)");
        assertThatThrownBy(() -> new HealthTarget("a", "127.0.0.1", 0, HealthCheck.tcp()))
                .hasMessage("port: 0 (expected: 1..65535)");
    }
}
