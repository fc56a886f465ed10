package io.tiergate.shared.admin;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class EventLogTest {
    @Test
    void aFlappingServerCannotGrowItTheOldestGoFirst() {
        EventLog log = new EventLog(3);
        for (int i = 1; i <= 1000; i++) {
            log.warn("health", "flap " + i);
        }
        assertThat(log.since(0)).extracting(EventLog.Event::message).containsExactly("flap 998", "flap 999", "flap 1000");
        assertThat(log.since(0)).extracting(EventLog.Event::seq).containsExactly(998L, 999L, 1000L);
        assertThat(log.recent(2)).extracting(EventLog.Event::message).containsExactly("flap 1000", "flap 999");
    }

    @Test
    void thePageAsksOnlyForWhatItHasNotSeen() {
        EventLog log = new EventLog();
        log.info("start", "a");
        log.error("reload", "b");
        assertThat(log.since(1)).singleElement().satisfies(e -> {
            assertThat(e.kind()).isEqualTo("reload");
            assertThat(e.level()).isEqualTo("error");
            assertThat(e.time()).endsWith("Z");
        });
        assertThat(log.since(2)).isEmpty();
        assertThat(EventLog.afterParam(null)).isZero();
        assertThat(EventLog.afterParam("x")).isZero();
        assertThat(EventLog.afterParam("-5")).isZero();
        assertThat(EventLog.afterParam("7")).isEqualTo(7);
        assertThatThrownBy(() -> new EventLog(0)).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void aConfigsProblemsBecomeOneLine() {
        assertThat(EventLog.summary("f.yaml:9:3: unknown upstream 'nope'\nf.yaml:12:1: bad\n"))
                .isEqualTo("f.yaml:9:3: unknown upstream 'nope' (+1 more; see the log)");
        assertThat(EventLog.summary("one problem")).isEqualTo("one problem");
    }
}
