package io.tiergate.proxy.compress;

import com.aayushatharva.brotli4j.decoder.BrotliInputStream;
import io.tiergate.proxy.ProxyNode;
import io.tiergate.proxy.support.Origin;
import io.tiergate.proxy.support.Proxies;
import io.tiergate.shared.Contexts;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClientAgent;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.core.http.PoolOptions;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.zip.GZIPInputStream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Many compressed responses at once through the streaming relay, on several event loops: small, large, fixed-length
 * and chunked (some chunks written later, from a timer), gzip and br. Every body must decode to exactly what the
 * origin sent: a missing last chunk, a lost first chunk or a trailer without its data is a broken response.
 */
@Timeout(120)
class ConcurrentCompressionTest {
    static final int REQUESTS = 240;
    static Vertx vertx;
    static Vertx clientVertx;
    static Origin origin;
    static ProxyNode proxy;
    static int port;
    static HttpClientAgent client;
    static final List<String> BODIES = new ArrayList<>();

    @BeforeAll
    static void start() {
        Random rnd = new Random(42);
        String[] words = {"alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta", "iota", "kappa"};
        for (int size : new int[] {1_500, 20_000, 200_000, 1_000_000}) {
            StringBuilder sb = new StringBuilder(size + 16);
            while (sb.length() < size) {
                sb.append(words[rnd.nextInt(words.length)]).append(rnd.nextInt(1000)).append(' ');
            }
            BODIES.add(sb.toString());
        }
        vertx = io.tiergate.shared.runtime.Runtimes.vertx();
        clientVertx = io.tiergate.shared.runtime.Runtimes.vertx();
        client = clientVertx.createHttpClient(new HttpClientOptions().setDecompressionSupported(false),
                new PoolOptions().setHttp1MaxSize(32));
        origin = Origin.start(vertx, "origin", (o, req, body) -> {
            // /fixed/<i>: one write with Content-Length; /chunked/<i>: 16 KiB chunks, every other one from a timer.
            String[] p = req.path().split("/");
            String text = BODIES.get(Integer.parseInt(p[2]));
            HttpServerResponse resp = req.response().putHeader("Content-Type", "text/plain");
            if (p[1].equals("fixed")) {
                resp.end(text);
            } else {
                resp.setChunked(true);
                writeFrom(o, resp, Buffer.buffer(text), 0);
            }
        });
        proxy = Proxies.start(vertx, """
                access_log: {format: off}
                listeners: [{address: 127.0.0.1:0}]
                upstreams: {app: {servers: [{address: %s}]}}
                servers: [{default: true, locations: [{prefix: /, upstream: app, gzip: {min_length: 100}}]}]
                """.formatted(origin.address()));
        port = proxy.listenPorts().get(0);
    }

    private static void writeFrom(Origin o, HttpServerResponse resp, Buffer all, int from) {
        int chunk = 16 * 1024;
        int i = from;
        while (i < all.length()) {
            int end = Math.min(all.length(), i + chunk);
            resp.write(all.slice(i, end));
            i = end;
            if (((i / chunk) & 1) == 1 && i < all.length()) {
                int next = i;
                vertx.setTimer(1, t -> writeFrom(o, resp, all, next));
                return;
            }
        }
        resp.end();
    }

    @AfterAll
    static void stop() {
        Origin.await(proxy.shutdown(Duration.ofSeconds(1)));
        origin.close();
        Origin.await(clientVertx.close());
        Origin.await(vertx.close());
    }

    record Got(String uri, String coding, Buffer body) {
    }

    @Test
    void everyConcurrentCompressedBodyDecodesToTheOriginal() throws Exception {
        List<Future<Got>> all = new ArrayList<>();
        for (int i = 0; i < REQUESTS; i++) {
            String uri = "/" + (i % 2 == 0 ? "fixed" : "chunked") + "/" + (i / 2) % BODIES.size();
            String ae = (i / 8) % 2 == 0 ? "gzip" : "br, gzip";
            all.add(Contexts.onContext(clientVertx, () -> client.request(HttpMethod.GET, port, "127.0.0.1", uri)
                    .compose(req -> req.putHeader("Accept-Encoding", ae).send()
                            .compose(r -> r.body().map(b -> new Got(uri, r.getHeader("Content-Encoding"), b))))));
        }
        Origin.await(Future.join(new ArrayList<>(all)).transform(ar -> Future.succeededFuture()), Duration.ofSeconds(90));
        List<String> broken = new ArrayList<>();
        for (Future<Got> f : all) {
            if (f.failed()) {
                broken.add("request failed: " + f.cause());
                continue;
            }
            Got g = f.result();
            String expected = BODIES.get(Integer.parseInt(g.uri().split("/")[2]));
            String why = check(g, expected);
            if (why != null) {
                broken.add(g.uri() + " (" + g.coding() + ", " + g.body().length() + " bytes): " + why);
            }
        }
        assertThat(broken).as("responses that do not decode to the origin's bytes").isEmpty();
    }

    private static String check(Got g, String expected) {
        if (g.coding() == null) {
            return "not compressed";
        }
        try (InputStream in = g.coding().equals("br") ? new BrotliInputStream(new ByteArrayInputStream(g.body().getBytes()))
                : new GZIPInputStream(new ByteArrayInputStream(g.body().getBytes()))) {
            String s = new String(in.readAllBytes(), StandardCharsets.UTF_8);
            if (!s.equals(expected)) {
                return "decoded " + s.length() + " chars, expected " + expected.length();
            }
            return null;
        } catch (IOException e) {
            return e.toString();
        }
    }
}
