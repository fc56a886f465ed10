package io.tiergate.proxy.compress;

import com.aayushatharva.brotli4j.decoder.BrotliInputStream;
import io.tiergate.proxy.ProxyNode;
import io.tiergate.proxy.support.Origin;
import io.tiergate.proxy.support.Proxies;
import io.tiergate.shared.Contexts;
import io.vertx.core.MultiMap;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClientAgent;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpMethod;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.zip.GZIPInputStream;

import static org.assertj.core.api.Assertions.assertThat;

/** Brotli next to gzip: negotiation by q-values, streamed and cached, variants kept apart, gzip fallback. */
@Timeout(30)
class BrotliTest {
    static final String TEXT = "the quick brown fox jumps over the lazy dog; ".repeat(120);
    static Vertx vertx;
    static Origin origin;
    static ProxyNode proxy;
    static int port;
    static HttpClientAgent client;

    @BeforeAll
    static void start() {
        assertThat(BrotliEncoder.available()).as("brotli4j's linux-x86_64 native should load here").isTrue();
        vertx = io.tiergate.shared.runtime.Runtimes.vertx();
        client = vertx.createHttpClient(new HttpClientOptions().setDecompressionSupported(false));
        origin = Origin.start(vertx, "origin", (o, req, body) -> {
            var resp = req.response().putHeader("Content-Type", "text/plain");
            if (req.path().startsWith("/c/")) {
                resp.putHeader("Cache-Control", "max-age=600");
            }
            resp.end(TEXT);
        });
        proxy = Proxies.start(vertx, """
                access_log: {format: off}
                listeners: [{address: 127.0.0.1:0}]
                upstreams: {app: {servers: [{address: %s}]}}
                cache: {name: edge}
                servers: [{default: true, locations: [
                  {prefix: /c/, upstream: app, cache: on, gzip: on},
                  {prefix: /nobr/, upstream: app, gzip: {brotli: off}},
                  {prefix: /, upstream: app, gzip: {brotli_level: 5}}]}]
                """.formatted(origin.address()));
        port = proxy.listenPorts().get(0);
    }

    @AfterAll
    static void stop() {
        Origin.await(proxy.shutdown(Duration.ofSeconds(1)));
        origin.close();
        Origin.await(vertx.close());
    }

    @AfterEach
    void enableBrotliAgain() {
        BrotliEncoder.disableForTests(false);
    }

    static String unbrotli(Buffer b) {
        try (InputStream in = new BrotliInputStream(new ByteArrayInputStream(b.getBytes()))) {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            StringBuilder hx = new StringBuilder();
            for (byte x : b.getBytes()) hx.append(String.format("%02x", x));
            throw new AssertionError("expected a valid brotli body: " + e + " len=" + b.length() + " hex=" + hx);
        }
    }

    static String gunzip(Buffer b) {
        try (InputStream in = new GZIPInputStream(new ByteArrayInputStream(b.getBytes()))) {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            StringBuilder hx = new StringBuilder();
            for (byte x : b.getBytes()) hx.append(String.format("%02x", x));
            throw new AssertionError("expected a valid gzip body: " + e + " len=" + b.length() + " hex=" + hx);
        }
    }

    record Raw(int status, MultiMap headers, Buffer body) {
        String decoded() {
            String ce = headers.get("Content-Encoding");
            try {
                return ce == null ? body.toString() : ce.equals("br") ? unbrotli(body) : gunzip(body);
            } catch (AssertionError e) {
                throw new AssertionError(status + " " + headers + ": " + e.getMessage(), e);
            }
        }
    }

    static Raw get(String uri, String... headers) {
        return Origin.await(Contexts.onContext(vertx, () -> client.request(HttpMethod.GET, port, "127.0.0.1", uri)
                .compose(req -> {
                    for (int i = 0; i + 1 < headers.length; i += 2) {
                        req.putHeader(headers[i], headers[i + 1]);
                    }
                    // body() inside send()'s callback, on a context: chained after it, or started off one,
                    // chunks can arrive (and be lost) first.
                    return req.send().compose(r -> r.body().map(b -> new Raw(r.statusCode(), r.headers(), b)));
                })));
    }

    @Test
    void brIsPreferredWhenTheClientWeighsItAtLeastAsHighAsGzip() {
        GzipConfig on = GzipConfig.ON;
        assertThat(Compression.choose(on, "gzip, deflate, br")).isEqualTo(Coding.BR);
        assertThat(Compression.choose(on, "br")).isEqualTo(Coding.BR);
        assertThat(Compression.choose(on, "*")).isEqualTo(Coding.BR);
        assertThat(Compression.choose(on, "gzip;q=0, *")).isEqualTo(Coding.BR);
        assertThat(Compression.choose(on, "br;q=0.5, gzip")).isEqualTo(Coding.GZIP);
        assertThat(Compression.choose(on, "br;q=0, gzip")).isEqualTo(Coding.GZIP);
        assertThat(Compression.choose(on, "br;q=0, gzip;q=0")).isEqualTo(Coding.IDENTITY);
        assertThat(Compression.choose(on, null)).isEqualTo(Coding.IDENTITY);
        GzipConfig noBr = new GzipConfig(true, GzipConfig.DEFAULT_TYPES, 1024, 6, false, 4);
        assertThat(Compression.choose(noBr, "br, gzip")).isEqualTo(Coding.GZIP);
    }

    @Test
    void aBufferedBodyIsBrotliEncodedWithTheSameHeaderRules() {
        MultiMap h = MultiMap.caseInsensitiveMultiMap().set("Content-Type", "text/plain").set("ETag", "\"x\"")
                .set("Content-Length", Integer.toString(TEXT.length()));
        Buffer out = Compression.apply(GzipConfig.ON, "GET", MultiMap.caseInsensitiveMultiMap()
                .set("Accept-Encoding", "br"), 200, h, Buffer.buffer(TEXT));
        assertThat(h.get("Content-Encoding")).isEqualTo("br");
        assertThat(h.get("Vary")).isEqualTo("Accept-Encoding");
        assertThat(h.get("ETag")).isEqualTo("W/\"x\"");
        assertThat(h.get("Content-Length")).isEqualTo(Integer.toString(out.length()));
        assertThat(unbrotli(out)).isEqualTo(TEXT);
    }

    @Test
    void streamedEncoderOutputIsDecodableChunkByChunk() {
        BrotliEncoder e = new BrotliEncoder(4);
        Buffer first = e.write(Buffer.buffer(TEXT));
        assertThat(first.length()).as("flushed output after the first chunk").isPositive();
        Buffer all = first.copy().appendBuffer(e.write(Buffer.buffer("tail"))).appendBuffer(e.finish());
        e.close();
        assertThat(unbrotli(all)).isEqualTo(TEXT + "tail");
    }

    @Test
    void anUncachedLocationStreamsBr() {
        Raw r = get("/page", "Accept-Encoding", "gzip, br");
        assertThat(r.headers().get("Content-Encoding")).isEqualTo("br");
        assertThat(r.headers().get("Vary")).containsIgnoringCase("Accept-Encoding");
        assertThat(r.body().length()).isLessThan(TEXT.length() / 5);
        assertThat(r.decoded()).isEqualTo(TEXT);
        assertThat(get("/nobr/page", "Accept-Encoding", "gzip, br").headers().get("Content-Encoding"))
                .as("brotli: off").isEqualTo("gzip");
    }

    @Test
    void cachedBrGzipAndIdentityVariantsAreKeptApart() {
        int before = origin.hits.get();
        String[][] clients = {{"Accept-Encoding", "br, gzip"}, {"Accept-Encoding", "gzip"}, {}};
        String[] expected = {"br", "gzip", null};
        for (int round = 0; round < 2; round++) {
            for (int i = 0; i < clients.length; i++) {
                Raw r = get("/c/v", clients[i]);
                assertThat(r.headers().get("Content-Encoding")).as("coding for client %d, round %d", i, round)
                        .isEqualTo(expected[i]);
                assertThat(r.decoded()).as("body for client %d, round %d: %s %s", i, round, r.status(), r.headers())
                        .isEqualTo(TEXT);
                if (round == 1) {
                    assertThat(r.headers().get("Cache-Status")).as("round 2, client %d", i).contains("hit");
                }
            }
        }
        assertThat(origin.hits.get() - before).as("one origin fetch per coding").isEqualTo(3);
    }

    @Test
    void whenBrotliCannotLoadGzipIsUsed() {
        BrotliEncoder.disableForTests(true);
        Raw r = get("/page", "Accept-Encoding", "br, gzip");
        assertThat(r.headers().get("Content-Encoding")).isEqualTo("gzip");
        assertThat(r.decoded()).isEqualTo(TEXT);
        assertThat(get("/page", "Accept-Encoding", "br").headers().get("Content-Encoding")).isNull();
    }
}
