package io.tiergate.shared.health;

import io.tiergate.shared.config.ConfigMap;
import io.tiergate.shared.config.Problems;
import io.tiergate.shared.config.YamlLoader;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;

class HealthCheckConfigTest {
    private static HealthCheck parse(String yaml, Problems p) {
        return HealthCheckConfig.parse(ConfigMap.of(YamlLoader.parse("h.yaml", yaml), p), null);
    }

    @Test
    void httpCheckWithEveryKey() {
        Problems p = new Problems();
        HealthCheck hc = parse("""
                type: http
                interval: 100ms
                timeout: 50ms
                rise: 1
                fall: 2
                path: /healthz
                host: app.local
                expect_status: [200, 204]
                body_contains: ok
                """, p);
        assertThat(p.format()).isEmpty();
        assertThat(hc.type()).isEqualTo(HealthCheck.Type.HTTP);
        assertThat(hc.interval()).isEqualTo(Duration.ofMillis(100));
        assertThat(hc.timeout()).isEqualTo(Duration.ofMillis(50));
        assertThat(hc.fall()).isEqualTo(2);
        assertThat(hc.httpPath()).isEqualTo("/healthz");
        assertThat(hc.expectStatus()).isEqualTo(Set.of(200, 204));
        assertThat(hc.bodyContains()).isEqualTo("ok");
    }

    @Test
    void defaultsAreTcpEverySecond() {
        Problems p = new Problems();
        HealthCheck hc = parse("{}", p);
        assertThat(p.isEmpty()).isTrue();
        assertThat(hc).isEqualTo(HealthCheck.tcp());
    }

    @Test
    void mistakesAreReportedNotThrown() {
        Problems p = new Problems();
        parse("""
                type: tcp
                interval: 100ms
                timeout: 1s
                path: /x
                expect_status: [700]
                fal: 2
                """, p);
        assertThat(p.format())
                .contains("h.yaml:3:10: timeout: is longer than the interval (100ms)")
                .contains("h.yaml:4:7: path: only applies to http and https checks")
                .contains("expect_status[0]: is not an HTTP status code")
                .contains("h.yaml:6:1: fal: unknown key 'fal'; did you mean 'fall'?");
    }

    @Test
    void commandCheckNeedsACommand() {
        Problems p = new Problems();
        parse("type: command\n", p);
        assertThat(p.format()).contains("command: a command check needs a command");
    }
}
