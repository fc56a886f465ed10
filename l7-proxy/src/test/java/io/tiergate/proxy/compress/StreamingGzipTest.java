package io.tiergate.proxy.compress;

import io.tiergate.proxy.ProxyNode;
import io.tiergate.proxy.support.Origin;
import io.tiergate.proxy.support.Proxies;
import io.tiergate.shared.Contexts;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClientAgent;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpMethod;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicReference;
import java.util.zip.Inflater;
import java.util.zip.GZIPInputStream;

import static org.assertj.core.api.Assertions.assertThat;

/** gzip on an uncached location: the streaming relay compresses chunk by chunk, with the same rules as the cache. */
@Timeout(30)
class StreamingGzipTest {
    static final String TEXT = "lorem ipsum dolor sit amet, consectetur adipiscing elit ".repeat(100);
    static Vertx vertx;
    static Origin origin;
    static ProxyNode proxy;
    static int port;
    static HttpClientAgent client;
    static final AtomicReference<Promise<Void>> release = new AtomicReference<>();

    @BeforeAll
    static void start() {
        vertx = io.tiergate.shared.runtime.Runtimes.vertx();
        client = vertx.createHttpClient(new HttpClientOptions().setDecompressionSupported(false));
        origin = Origin.start(vertx, "origin", (o, req, body) -> {
            var resp = req.response().putHeader("Content-Type", "text/html; charset=utf-8");
            switch (req.path()) {
                case "/z/small" -> resp.end("tiny");
                case "/z/png" -> resp.putHeader("Content-Type", "image/png").end(TEXT);
                case "/z/encoded" -> resp.putHeader("Content-Encoding", "gzip").end(TEXT);
                case "/z/partial" -> resp.setStatusCode(206).putHeader("Content-Range", "bytes 0-9/100").end(TEXT);
                case "/z/notransform" -> resp.putHeader("Cache-Control", "no-transform").end(TEXT);
                case "/z/etag" -> resp.putHeader("ETag", "\"v1\"").end(TEXT);
                case "/z/stream" -> {
                    // The second half is only sent once the client has decoded the first: proves chunks are flushed.
                    resp.setChunked(true).write(TEXT);
                    Promise<Void> p = Promise.promise();
                    release.set(p);
                    p.future().onComplete(v -> resp.end("THE END"));
                }
                default -> resp.end(TEXT);
            }
        });
        proxy = Proxies.start(vertx, """
                access_log: {format: off}
                listeners: [{address: 127.0.0.1:0}]
                upstreams: {app: {servers: [{address: %s}]}}
                servers: [{default: true, locations: [
                  {prefix: /z/, upstream: app, gzip: {min_length: 100}},
                  {prefix: /, upstream: app}]}]
                """.formatted(origin.address()));
        port = proxy.listenPorts().get(0);
    }

    @AfterAll
    static void stop() {
        Origin.await(proxy.shutdown(Duration.ofSeconds(1)));
        origin.close();
        Origin.await(vertx.close());
    }

    record Raw(int status, io.vertx.core.MultiMap headers, Buffer body) {
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

    static String gunzip(Buffer b) {
        try (InputStream in = new GZIPInputStream(new ByteArrayInputStream(b.getBytes()))) {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            StringBuilder hx = new StringBuilder();
            for (byte x : b.getBytes()) hx.append(String.format("%02x", x));
            throw new AssertionError("expected a valid gzip body: " + e + " len=" + b.length() + " hex=" + hx);
        }
    }

    @Test
    void aStreamedResponseIsGzippedWhenTheClientAcceptsIt() {
        Raw r = get("/z/page", "Accept-Encoding", "br;q=0, gzip;q=0.8");
        assertThat(r.headers().get("Content-Encoding")).isEqualTo("gzip");
        assertThat(r.headers().get("Vary")).containsIgnoringCase("Accept-Encoding");
        assertThat(r.headers().get("Content-Length")).as("length changes: chunked instead").isNull();
        assertThat(r.body().length()).isLessThan(TEXT.length() / 5);
        assertThat(gunzip(r.body())).isEqualTo(TEXT);
    }

    @Test
    void identityWhenGzipIsNotAcceptedButVaryIsStillSent() {
        for (String ae : new String[] {"gzip;q=0", "identity", "*;q=0", "br;q=0"}) {
            Raw r = get("/z/page", "Accept-Encoding", ae);
            assertThat(r.headers().get("Content-Encoding")).as("Content-Encoding for Accept-Encoding: %s", ae).isNull();
            assertThat(r.headers().get("Vary")).as("Vary for %s", ae).containsIgnoringCase("Accept-Encoding");
            assertThat(r.body().toString()).isEqualTo(TEXT);
        }
        assertThat(get("/z/page").headers().get("Content-Encoding")).as("no Accept-Encoding").isNull();
    }

    @Test
    void theRulesSmallTypeTwiceRangesNoTransform() {
        for (String p : new String[] {"/z/small", "/z/png", "/z/partial", "/z/notransform"}) {
            Raw r = get(p, "Accept-Encoding", "gzip");
            assertThat(r.headers().get("Content-Encoding")).as("Content-Encoding of %s", p).isNull();
        }
        Raw twice = get("/z/encoded", "Accept-Encoding", "gzip");
        assertThat(twice.headers().getAll("Content-Encoding")).as("never gzipped twice").containsExactly("gzip");
        assertThat(twice.body().toString()).isEqualTo(TEXT);
        assertThat(get("/other", "Accept-Encoding", "gzip").headers().get("Content-Encoding"))
                .as("a location without gzip").isNull();
    }

    @Test
    void aStrongEtagBecomesWeakWhenGzipped() {
        assertThat(get("/z/etag", "Accept-Encoding", "gzip").headers().get("ETag")).isEqualTo("W/\"v1\"");
        assertThat(get("/z/etag").headers().get("ETag")).isEqualTo("\"v1\"");
    }

    @Test
    void headIsNeverGzipped() {
        String raw = Proxies.raw(port, "HEAD /z/page HTTP/1.1\r\nHost: x\r\nAccept-Encoding: gzip\r\n"
                + "Connection: close\r\n\r\n");
        assertThat(raw).startsWith("HTTP/1.1 200").doesNotContainIgnoringCase("content-encoding");
    }

    @Test
    void chunksAreFlushedAsTheyArriveNotBufferedToTheEnd() {
        Buffer got = Buffer.buffer();
        Inflater inflater = new Inflater(true);
        StringBuilder plain = new StringBuilder();
        Promise<Void> done = Promise.promise();
        Contexts.onContext(vertx, () -> client.request(HttpMethod.GET, port, "127.0.0.1", "/z/stream")
                .compose(req -> req.putHeader("Accept-Encoding", "gzip").send().andThen(ar -> {
                    if (ar.failed()) {
                        return;
                    }
                    // Handlers set in send()'s own callback, before any chunk can be delivered.
                    var resp = ar.result();
                    assertThat(resp.getHeader("Content-Encoding")).isEqualTo("gzip");
                    resp.handler(chunk -> {
                        got.appendBuffer(chunk);
                        plain.append(inflateAvailable(inflater, got));
                        Promise<Void> p = release.get();
                        if (plain.length() >= TEXT.length() && p != null) {
                            p.tryComplete();
                        }
                    });
                    resp.endHandler(v -> done.tryComplete());
                }))).onFailure(done::tryFail);
        Origin.await(done.future());
        assertThat(plain.toString()).startsWith(TEXT);
        assertThat(gunzip(got)).isEqualTo(TEXT + "THE END");
    }

    /** Inflates whatever is decodable so far (the 10-byte gzip header skipped; unconsumed input kept). */
    private static String inflateAvailable(Inflater inflater, Buffer all) {
        if (all.length() < 10) {
            return "";
        }
        int from = 10 + (int) inflater.getBytesRead();
        if (from >= all.length()) {
            return "";
        }
        inflater.setInput(all.getBytes(from, all.length()));
        byte[] out = new byte[64 * 1024];
        StringBuilder sb = new StringBuilder();
        try {
            int n;
            while ((n = inflater.inflate(out)) > 0) {
                sb.append(new String(out, 0, n, StandardCharsets.ISO_8859_1));
            }
        } catch (java.util.zip.DataFormatException e) {
            throw new AssertionError(e);
        }
        return sb.toString();
    }
}
