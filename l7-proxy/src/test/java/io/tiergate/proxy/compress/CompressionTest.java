package io.tiergate.proxy.compress;

import io.vertx.core.MultiMap;
import io.vertx.core.buffer.Buffer;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.zip.GZIPInputStream;

import static org.assertj.core.api.Assertions.assertThat;

class CompressionTest {
    private static final String TEXT = "the quick brown fox jumps over the lazy dog\n".repeat(100);

    private static MultiMap resp(String type, String... more) {
        MultiMap h = MultiMap.caseInsensitiveMultiMap().set("Content-Type", type)
                .set("Content-Length", Integer.toString(TEXT.length()));
        for (int i = 0; i < more.length; i += 2) {
            h.add(more[i], more[i + 1]);
        }
        return h;
    }

    private static MultiMap acc(String ae) {
        return MultiMap.caseInsensitiveMultiMap().set("Accept-Encoding", ae);
    }

    static String gunzip(Buffer b) throws IOException {
        try (GZIPInputStream in = new GZIPInputStream(new ByteArrayInputStream(b.getBytes()))) {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
    }

    @Test
    void configuredTypesAboveTheMinimumAreGzippedAndRoundTrip() throws IOException {
        MultiMap h = resp("text/html; charset=utf-8", "ETag", "\"abc\"");
        Buffer out = Compression.apply(GzipConfig.ON, "GET", acc("gzip, deflate"), 200, h, Buffer.buffer(TEXT));
        assertThat(h.get("Content-Encoding")).isEqualTo("gzip");
        assertThat(h.get("Vary")).isEqualTo("Accept-Encoding");
        assertThat(h.get("ETag")).as("a strong ETag is weakened").isEqualTo("W/\"abc\"");
        assertThat(h.get("Content-Length")).isEqualTo(Integer.toString(out.length()));
        assertThat(out.length()).isLessThan(TEXT.length() / 5);
        assertThat(gunzip(out)).isEqualTo(TEXT);
    }

    @Test
    void qZeroRefusesGzipButVaryIsStillAdded() {
        for (String ae : new String[] {"gzip;q=0", "br;q=0", "identity", "*;q=0", "gzip;q=0, br;q=0, *"}) {
            MultiMap h = resp("text/plain");
            Buffer out = Compression.apply(GzipConfig.ON, "GET", acc(ae), 200, h, Buffer.buffer(TEXT));
            assertThat(h.contains("Content-Encoding")).as("Accept-Encoding: %s", ae).isFalse();
            assertThat(out.toString()).isEqualTo(TEXT);
            assertThat(h.get("Vary")).isEqualTo("Accept-Encoding");
        }
        assertThat(Compression.gzipQuality("br;q=1, *;q=0.5")).isEqualTo(0.5);
        assertThat(Compression.gzipQuality("GZIP;q=0.8")).isEqualTo(0.8);
        assertThat(Compression.gzipQuality(null)).isZero();
    }

    @Test
    void neverTwiceNeverRangesNeverSmallNeverOtherTypes() {
        MultiMap encoded = resp("text/html", "Content-Encoding", "br");
        assertThat(Compression.prepare(GzipConfig.ON, "GET", acc("gzip"), 200, encoded)).isFalse();
        MultiMap range = resp("text/html", "Content-Range", "bytes 0-9/100");
        assertThat(Compression.prepare(GzipConfig.ON, "GET", acc("gzip"), 206, range)).isFalse();
        assertThat(Compression.prepare(GzipConfig.ON, "GET", acc("gzip"), 200, range)).isFalse();
        MultiMap small = MultiMap.caseInsensitiveMultiMap().set("Content-Type", "text/html").set("Content-Length", "20");
        assertThat(Compression.prepare(GzipConfig.ON, "GET", acc("gzip"), 200, small)).isFalse();
        assertThat(Compression.prepare(GzipConfig.ON, "GET", acc("gzip"), 200, resp("image/png"))).isFalse();
        assertThat(Compression.prepare(GzipConfig.ON, "GET", acc("gzip"), 200,
                resp("text/html", "Cache-Control", "no-transform"))).isFalse();
        assertThat(Compression.prepare(GzipConfig.OFF, "GET", acc("gzip"), 200, resp("text/html"))).isFalse();
    }

    @Test
    void existingVaryIsExtendedNotDuplicated() {
        MultiMap h = resp("text/css", "Vary", "Accept-Language");
        Compression.prepare(GzipConfig.ON, "GET", acc("gzip"), 200, h);
        assertThat(h.getAll("Vary")).containsExactly("Accept-Language", "Accept-Encoding");
        MultiMap h2 = resp("text/css", "Vary", "accept-encoding");
        Compression.prepare(GzipConfig.ON, "GET", acc("gzip"), 200, h2);
        assertThat(h2.getAll("Vary")).containsExactly("accept-encoding");
    }

    @Test
    void streamingChunksDecodeToTheWhole() throws IOException {
        Buffer all = Buffer.buffer();
        try (GzipEncoder e = new GzipEncoder(6)) {
            for (int i = 0; i < 50; i++) {
                all.appendBuffer(e.write(Buffer.buffer("chunk " + i + " " + "x".repeat(i * 10) + "\n")));
            }
            all.appendBuffer(e.finish());
        }
        StringBuilder expected = new StringBuilder();
        for (int i = 0; i < 50; i++) {
            expected.append("chunk ").append(i).append(' ').append("x".repeat(i * 10)).append('\n');
        }
        assertThat(gunzip(all)).isEqualTo(expected.toString());
    }

    @Test
    void wildcardTypes() {
        GzipConfig c = new GzipConfig(true, java.util.List.of("text/*"), 0, 6);
        assertThat(c.matchesType("text/markdown; charset=utf-8")).isTrue();
        assertThat(c.matchesType("application/json")).isFalse();
    }
}
