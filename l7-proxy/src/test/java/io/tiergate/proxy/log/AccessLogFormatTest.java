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
    void jsonLinesCarryEveryFieldAsSentWhateverItHolds() throws Exception {
        var mapper = new com.fasterxml.jackson.databind.ObjectMapper();
        SplittableRandom r = new SplittableRandom(3);
        String alphabet = "aZ09 /?=&%\"\\\u0000\u0001\u001f\u007f\t\n\ré€😀<>{}[],:";
        for (int i = 0; i < 5_000; i++) {
            String ua = i % 7 == 0 ? null : random(r, alphabet);
            String referer = random(r, alphabet);
            String uri = "/" + random(r, alphabet);
            AccessLog.Entry e = new AccessLog.Entry(1_700_000_000_123L, "192.0.2.1", "GET", uri, "HTTP/1.1", 200, 5,
                    referer, ua, 1_500, "/", "app", "10.0.0.1:80", "200", 1, "memory", null, "rid");
            String line = AccessLog.json(e);
            assertThat(line).as("one line").doesNotContain("\n").doesNotContain("\r");
            var n = mapper.readTree(line);
            assertThat(n.get("uri").asText()).isEqualTo(uri);
            assertThat(n.get("referer").asText()).isEqualTo(referer);
            assertThat(n.get("user_agent").isNull() ? null : n.get("user_agent").asText()).isEqualTo(ua);
            assertThat(n.get("no_retry").isNull()).isTrue();
            assertThat(n.get("duration_us").asLong()).isEqualTo(1_500);
            assertThat(n.get("time").asText()).isEqualTo("2023-11-14T22:13:20.123Z");
        }
        AccessLog.Entry e = new AccessLog.Entry(0, "c", "GET", "/a\"b\\c\u0001\u001f", "HTTP/1.1", 200, 0, null, null,
                0, "/", "app", "-", "-", 1, "memory", null, "rid");
        assertThat(AccessLog.json(e)).as("escapes as before: \\\" \\\\ and \\u00XX in lower case")
                .contains("\"uri\":\"/a\\\"b\\\\c\\u0001\\u001f\"");
    }

    private static String random(SplittableRandom r, String alphabet) {
        int n = r.nextInt(12);
        StringBuilder b = new StringBuilder();
        int[] cps = alphabet.codePoints().toArray();
        for (int i = 0; i < n; i++) {
            b.appendCodePoint(cps[r.nextInt(cps.length)]);
        }
        return b.toString();
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
