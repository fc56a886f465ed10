package io.tiergate.shared.config;

import org.junit.jupiter.api.Test;

import java.time.Duration;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class UnitsTest {
    @Test
    void durationsInEveryUnit() {
        assertThat(Units.parseDuration("100ms")).isEqualTo(Duration.ofMillis(100));
        assertThat(Units.parseDuration("2s")).isEqualTo(Duration.ofSeconds(2));
        assertThat(Units.parseDuration("1m")).isEqualTo(Duration.ofMinutes(1));
        assertThat(Units.parseDuration("1h30m")).isEqualTo(Duration.ofMinutes(90));
        assertThat(Units.parseDuration("1.5s")).isEqualTo(Duration.ofMillis(1500));
        assertThat(Units.parseDuration("250us")).isEqualTo(Duration.ofNanos(250_000));
        assertThat(Units.parseDuration("0")).isEqualTo(Duration.ZERO);
    }

    @Test
    void badDurationsAreRejected() {
        assertThatThrownBy(() -> Units.parseDuration("100")).hasMessageContaining("'100' is not a duration");
        assertThatThrownBy(() -> Units.parseDuration("2 seconds")).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> Units.parseDuration("ms")).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void sizesArePowersOf1024() {
        assertThat(Units.parseSize("512")).isEqualTo(512);
        assertThat(Units.parseSize("64k")).isEqualTo(65536);
        assertThat(Units.parseSize("10m")).isEqualTo(10L << 20);
        assertThat(Units.parseSize("1g")).isEqualTo(1L << 30);
        assertThat(Units.parseSize("1KiB")).isEqualTo(1024);
        assertThatThrownBy(() -> Units.parseSize("ten")).hasMessageContaining("not a size");
    }

    @Test
    void formatRoundTrips() {
        for (String s : new String[] {"100ms", "2s", "1m", "3h", "250us", "0s"}) {
            assertThat(Units.format(Units.parseDuration(s))).isEqualTo(s);
        }
    }

    @Test
    void sizesFormatTheWayTheyAreWritten() {
        for (String s : new String[] {"512", "64k", "10m", "1g", "1500"}) {
            assertThat(Units.formatSize(Units.parseSize(s))).isEqualTo(s);
        }
    }
}
