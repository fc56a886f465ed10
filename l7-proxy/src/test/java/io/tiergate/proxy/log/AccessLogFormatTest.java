package io.tiergate.proxy.log;

import org.junit.jupiter.api.Test;

import java.time.Instant;
import java.time.ZoneId;
import java.time.format.DateTimeFormatter;
import java.util.Locale;
import java.util.SplittableRandom;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The access log's time stamps and durations are made without a formatter per line (once per second, and by
 * integer arithmetic): every line must read exactly as the formatters wrote it.
 */
class AccessLogFormatTest {
    private static final DateTimeFormatter CLF =
            DateTimeFormatter.ofPattern("dd/MMM/yyyy:HH:mm:ss Z", Locale.ENGLISH).withZone(ZoneId.systemDefault());

    private static AccessLog.Entry at(long millis, long micros) {
        return new AccessLog.Entry(millis, "192.0.2.1", "GET", "/x", "HTTP/1.1", 200, 5, null, null, micros, "/",
                "app", "10.0.0.1:80", "200", 1, "memory", null, "rid");
    }

    @Test
    void durationIsPercentThreeFWhateverTheValue() {
        long[] edges = {0, 1, 499, 500, 501, 999, 1_000, 1_499, 1_500, 2_500, 9_999, 10_500, 99_500, 999_499, 999_500,
                999_999, 1_000_000, 1_234_567, 59_999_999, 3_600_000_500L, Long.MAX_VALUE / 2};
        SplittableRandom r = new SplittableRandom(7);
        for (int i = 0; i < edges.length + 20_000; i++) {
            long us = i < edges.length ? edges[i] : i % 2 == 0 ? r.nextLong(10_000_000) : r.nextLong(1L << 40);
            assertThat(AccessLog.seconds(us)).as("%d us", us).isEqualTo(String.format(Locale.ROOT, "%.3f", us / 1e6));
        }
    }

    @Test
    void protocolIsTheAlpnNameInCapitals() {
        for (io.vertx.core.http.HttpVersion v : io.vertx.core.http.HttpVersion.values()) {
            assertThat(AccessLog.protocol(v)).isEqualTo(v.alpnName().toUpperCase(Locale.ROOT));
        }
        assertThat(AccessLog.protocol(null)).isEqualTo("HTTP/1.1");
    }

    @Test
    void timeStampsAreTheFormattersOwnInEveryLine() {
        SplittableRandom r = new SplittableRandom(11);
        long now = System.currentTimeMillis();
        // Lines of one second, of seconds far apart, out of order, and on whole seconds (no milliseconds shown).
        for (int i = 0; i < 20_000; i++) {
            long ms = switch (i % 4) {
                case 0 -> now + r.nextLong(3_000);
                case 1 -> r.nextLong(4_102_444_800_000L); // 1970 to 2100
                case 2 -> now - r.nextLong(86_400_000L);
                default -> (now / 1000 + r.nextLong(100)) * 1000;
            };
            Instant t = Instant.ofEpochMilli(ms);
            assertThat(AccessLog.combined(at(ms, 0))).as("combined at %d", ms)
                    .startsWith("192.0.2.1 - - [" + CLF.format(t) + "] \"GET /x HTTP/1.1\" 200 5 \"-\" \"-\" rt=0.000 ");
            assertThat(AccessLog.json(at(ms, 0))).as("json at %d", ms).startsWith("{\"time\":\"" + t + "\",");
        }
    }
}
