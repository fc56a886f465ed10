package io.tiergate.proxy.features;

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
import io.vertx.core.http.RequestOptions;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.zip.GZIPInputStream;

import static org.assertj.core.api.Assertions.assertThat;

/** Cache, rewrite, return, header rules and gzip through a real ProxyNode in front of a real origin. */
@Timeout(30)
class ProxyFeaturesTest {
    static Vertx vertx;
    static Origin origin;
    static ProxyNode proxy;
    static int port;
    static HttpClientAgent client;

    @BeforeAll
    static void start() {
        vertx = io.tiergate.shared.runtime.Runtimes.vertx();
        client = vertx.createHttpClient(new HttpClientOptions().setDecompressionSupported(false),
                new io.vertx.core.http.PoolOptions().setHttp1MaxSize(32));
        origin = Origin.start(vertx, "origin", (o, req, body) -> {
            String p = req.path();
            if (req.method() != HttpMethod.GET) {
                req.response().setStatusCode(204).end();
                return;
            }
            var resp = req.response().putHeader("X-Origin-Hit", Integer.toString(o.hits.get()))
                    .putHeader("Server", "origin/1");
            if (p.startsWith("/c/")) {
                resp.putHeader("Cache-Control", "max-age=60").putHeader("ETag", "\"e1\"")
                        .putHeader("Content-Type", "text/html");
            }
            String text = p.startsWith("/c/big") ? "lorem ipsum dolor sit amet ".repeat(200) : "path " + req.uri();
            if (p.startsWith("/c/slow")) {
                vertx.setTimer(300, t -> resp.end(text));
            } else {
                resp.end(text);
            }
        });
        proxy = Proxies.start(vertx, """
                access_log: {format: off}
                listeners: [{address: 127.0.0.1:0}]
                upstreams: {app: {servers: [{address: %s}]}}
                cache: {max_size: 16m, name: edge}
                servers: [{default: true, locations: [
                  {prefix: /c/, upstream: app, cache: on, gzip: {min_length: 100}},
                  {prefix: /old/, upstream: app, rewrite: ['^/old/(.*)$ /c/$1 last']},
                  {exact: /go, upstream: app, return: '301 https://$host/there'},
                  {exact: /teapot, upstream: app, return: '418 short and stout'},
                  {prefix: /h/, upstream: app, strip_prefix: /h,
                   headers: {request: {set: {X-From: tiergate}}, response: {set: {X-Served-By: $host}, remove: [Server]}}},
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

    private static Proxies.Reply get(String uri, String... headers) {
        return Proxies.get(client, port, uri, headers);
    }

    @Test
    void aCacheableResponseIsServedFromTheCacheTheSecondTime() {
        int before = origin.hits.get();
        Proxies.Reply first = get("/c/a");
        Proxies.Reply second = get("/c/a");
        assertThat(first.headers().get("Cache-Status")).startsWith("edge; fwd=uri-miss; fwd-status=200; stored");
        assertThat(second.headers().get("Cache-Status")).startsWith("edge; hit");
        assertThat(second.headers().get("Age")).isNotNull();
        assertThat(second.body()).isEqualTo(first.body());
        assertThat(origin.hits.get() - before).as("origin requests").isEqualTo(1);
    }

    @Test
    void cacheKeyAndRewriteSeeTheNormalizedPath() {
        int before = origin.hits.get();
        // Raw sockets: no client library gets a chance to tidy the paths up first.
        String first = Proxies.raw(port, "GET /c/x/../%6Eorm HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n");
        assertThat(origin.last().uri()).as("the origin is asked for the normalized path").isEqualTo("/c/norm");
        String second = Proxies.raw(port, "GET /c//norm HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n");
        assertThat(second).as("another spelling of the same path is a hit").contains("Cache-Status: edge; hit");
        assertThat(second.substring(second.indexOf("\r\n\r\n"))).isEqualTo(first.substring(first.indexOf("\r\n\r\n")));
        assertThat(origin.hits.get() - before).as("origin requests").isEqualTo(1);
        Proxies.raw(port, "GET /%6Fld/./moved2?y=2 HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n");
        assertThat(origin.last().uri()).as("rewrite matched the normalized path").isEqualTo("/c/moved2?y=2");
    }

    @Test
    void concurrentMissesThroughTheNodeCauseOneOriginRequest() {
        int before = origin.hits.get();
        List<Future<Integer>> all = new ArrayList<>();
        for (int i = 0; i < 10; i++) {
            all.add(Contexts.onContext(vertx, () -> client.request(new RequestOptions().setHost("127.0.0.1").setPort(port)
                    .setURI("/c/slow")).compose(r -> r.send().compose(x -> x.body().map(b -> x.statusCode())))));
        }
        for (Future<Integer> f : all) {
            assertThat(Origin.await(f)).isEqualTo(200);
        }
        assertThat(origin.hits.get() - before).as("origin requests for 10 concurrent misses").isEqualTo(1);
    }

    /**
     * A response served from the cache is written into the client response's own head: concurrent waits collapsed
     * behind one miss, and concurrent hits, must each carry their own request id and one of each cache header, never
     * another request's.
     */
    @Test
    void concurrentCollapsedWaitsAndHitsEachGetTheirOwnHead() {
        int before = origin.hits.get();
        for (String wave : List.of("collapsed", "hit")) {
            List<Future<Proxies.Reply>> all = new ArrayList<>();
            for (int i = 0; i < 12; i++) {
                String id = wave + "-" + i;
                all.add(Contexts.onContext(vertx, () -> client.request(new RequestOptions().setHost("127.0.0.1")
                        .setPort(port).setURI("/c/slow-heads").addHeader("X-Request-Id", id))
                        .compose(r -> r.send().compose(x -> x.body().map(b -> new Proxies.Reply(x.statusCode(),
                                x.headers(), b.toString()))))));
            }
            for (int i = 0; i < all.size(); i++) {
                Proxies.Reply r = Origin.await(all.get(i));
                assertThat(r.status()).isEqualTo(200);
                assertThat(r.body()).isEqualTo("path /c/slow-heads");
                assertThat(r.headers().getAll("X-Request-Id")).as("%s request %d", wave, i)
                        .containsExactly(wave + "-" + i);
                assertThat(r.headers().getAll("Cache-Status")).as("%s request %d", wave, i).hasSize(1);
                assertThat(r.headers().getAll("Via")).as("%s request %d", wave, i).containsExactly("1.1 tiergate");
                assertThat(r.headers().getAll("Content-Length")).containsExactly("18");
                if (wave.equals("hit")) {
                    assertThat(r.headers().get("Cache-Status")).startsWith("edge; hit");
                    assertThat(r.headers().getAll("Age")).hasSize(1);
                }
            }
        }
        assertThat(origin.hits.get() - before).as("origin requests").isEqualTo(1);
    }

    @Test
    void aSuccessfulPostInvalidates() {
        get("/c/inv");
        assertThat(get("/c/inv").headers().get("Cache-Status")).contains("hit");
        Proxies.send(client, port, HttpMethod.POST, "/c/inv", Buffer.buffer("x"));
        assertThat(get("/c/inv").headers().get("Cache-Status")).contains("fwd=uri-miss");
    }

    @Test
    void rewriteLastReroutesIntoTheCachedLocation() {
        Proxies.Reply r = get("/old/moved?x=1");
        assertThat(origin.last().uri()).isEqualTo("/c/moved?x=1");
        assertThat(r.headers().get("Cache-Status")).as("answered by the /c/ location").isNotNull();
    }

    @Test
    void returnAnswersWithoutTheOrigin() {
        int before = origin.hits.get();
        Proxies.Reply go = get("/go");
        assertThat(go.status()).isEqualTo(301);
        assertThat(go.headers().get("Location")).isEqualTo("https://127.0.0.1/there");
        Proxies.Reply tea = get("/teapot");
        assertThat(tea.status()).isEqualTo(418);
        assertThat(tea.body()).isEqualTo("short and stout");
        assertThat(origin.hits.get()).isEqualTo(before);
    }

    @Test
    void headerRulesAndPrefixStrip() {
        Proxies.Reply r = get("/h/users?id=3");
        assertThat(origin.last().uri()).isEqualTo("/users?id=3");
        assertThat(origin.last().headers().get("X-From")).isEqualTo("tiergate");
        assertThat(r.headers().get("X-Served-By")).isEqualTo("127.0.0.1");
        assertThat(r.headers().contains("Server")).isFalse();
    }

    @Test
    void gzipAndIdentityVariantsAreCachedApart() throws Exception {
        Proxies.Reply gz = get("/c/big", "Accept-Encoding", "gzip");
        assertThat(gz.headers().get("Content-Encoding")).isEqualTo("gzip");
        assertThat(gz.headers().get("Vary")).isEqualTo("Accept-Encoding");
        Proxies.Reply plain = get("/c/big");
        assertThat(plain.headers().contains("Content-Encoding")).isFalse();
        assertThat(plain.headers().get("Cache-Status")).contains("fwd=vary-miss");
        Proxies.Reply gzHit = get("/c/big", "Accept-Encoding", "gzip, deflate");
        assertThat(gzHit.headers().get("Cache-Status")).contains("hit");
        assertThat(gzHit.headers().get("Content-Encoding")).isEqualTo("gzip");
        byte[] raw = Origin.await(Contexts.onContext(vertx, () -> client.request(new RequestOptions().setHost("127.0.0.1")
                        .setPort(port).setURI("/c/big").addHeader("Accept-Encoding", "gzip"))
                .compose(r -> r.send().compose(x -> x.body())))).getBytes();
        try (GZIPInputStream in = new GZIPInputStream(new ByteArrayInputStream(raw))) {
            assertThat(new String(in.readAllBytes(), StandardCharsets.UTF_8)).isEqualTo(plain.body());
        }
    }

    @Test
    void locationsWithoutFeaturesAreUntouched() {
        int before = origin.hits.get();
        Proxies.Reply r1 = get("/plain");
        get("/plain");
        assertThat(origin.hits.get() - before).isEqualTo(2);
        assertThat(r1.headers().contains("Cache-Status")).isFalse();
        assertThat(r1.headers().get("Server")).isEqualTo("origin/1");
    }
}
