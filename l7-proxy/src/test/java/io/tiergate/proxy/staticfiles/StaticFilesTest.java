package io.tiergate.proxy.staticfiles;

import io.tiergate.proxy.ProxyNode;
import io.tiergate.proxy.config.ProxyConfig;
import io.tiergate.proxy.support.Origin;
import io.tiergate.proxy.support.Proxies;
import io.tiergate.proxy.support.TestPki;
import io.tiergate.shared.Contexts;
import io.tiergate.shared.config.ConfigMap;
import io.tiergate.shared.config.Problems;
import io.tiergate.shared.config.YamlLoader;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClientAgent;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.net.PemTrustOptions;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Static files through a real ProxyNode: real files in a temp dir, one server where {@code /static/} (alias) and
 * {@code /pub/} (root) come from disk and everything else from a real origin. Traversal attempts go over a raw
 * socket so that no client normalises the path first.
 */
@Timeout(30)
class StaticFilesTest {
    static final String SECRET = "TOP-SECRET-OUTSIDE-THE-ROOT";
    static final String A = "0123456789abcdef";

    @TempDir
    static Path tmp;
    static Vertx vertx;
    static Origin origin;
    static ProxyNode proxy;
    static int port;
    static int tlsPort;
    static HttpClientAgent client;
    static HttpClientAgent tlsClient;
    static byte[] big;

    @BeforeAll
    static void start() throws IOException {
        Path www = Files.createDirectories(tmp.resolve("www"));
        Path pub = Files.createDirectories(www.resolve("pub"));
        Files.writeString(tmp.resolve("secret.txt"), SECRET);
        Files.writeString(pub.resolve("secret.txt.bak"), "not reachable by name games");
        Files.writeString(pub.resolve("a.txt"), A);
        Files.writeString(pub.resolve("index.html"), "<h1>home</h1>");
        Files.writeString(pub.resolve("style.css"), "body{}");
        Files.createDirectories(pub.resolve("dir"));
        Files.writeString(pub.resolve("dir").resolve("x.bin"), "x");
        Files.createDirectories(pub.resolve("sub"));
        Files.writeString(pub.resolve("sub").resolve("index.html"), "<p>sub</p>");
        big = new byte[3 * 1024 * 1024 + 17];
        for (int i = 0; i < big.length; i++) {
            big[i] = (byte) (i * 31);
        }
        Files.write(pub.resolve("big.bin"), big);
        Files.createSymbolicLink(pub.resolve("escape.txt"), tmp.resolve("secret.txt"));
        Files.createSymbolicLink(pub.resolve("outdir"), tmp);
        Files.createSymbolicLink(pub.resolve("inlink.txt"), pub.resolve("a.txt"));

        TestPki pki = TestPki.create(Files.createDirectories(tmp.resolve("pki")), "static");
        TestPki.Issued site = pki.server("static.test");
        vertx = io.tiergate.shared.runtime.Runtimes.vertx();
        client = vertx.createHttpClient(new HttpClientOptions().setDecompressionSupported(false));
        tlsClient = vertx.createHttpClient(new HttpClientOptions().setDecompressionSupported(false).setSsl(true)
                .setTrustOptions(new PemTrustOptions().addCertPath(pki.caPem().toString())).setVerifyHost(false));
        origin = Origin.start(vertx, "origin", (o, req, body) -> req.response().end("dynamic " + req.uri()));
        proxy = Proxies.start(vertx, """
                access_log: {format: off}
                listeners:
                  - {address: 127.0.0.1:0}
                  - {name: tls, address: 127.0.0.1:0, tls: {certificates: [{cert: '%4$s', key: '%5$s'}]}}
                upstreams: {app: {servers: [{address: %1$s}]}}
                servers: [{default: true, locations: [
                  {prefix: /static/, alias: '%2$s'},
                  {prefix: /pub/, root: '%3$s'},
                  {prefix: /, upstream: app}]}]
                """.formatted(origin.address(), pub, www, site.cert(), site.key()));
        port = proxy.listenPorts().get(0);
        tlsPort = proxy.listenPorts().get(1);
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
    void aFileIsServedWithTypeLengthValidatorsAndWithoutTouchingTheOrigin() {
        int before = origin.hits.get();
        Proxies.Reply r = get("/static/a.txt");
        assertThat(r.status()).isEqualTo(200);
        assertThat(r.body()).isEqualTo(A);
        assertThat(r.headers().get("Content-Type")).isEqualTo("text/plain");
        assertThat(r.headers().get("Content-Length")).isEqualTo("16");
        assertThat(r.headers().get("ETag")).matches("\"[0-9a-f]+-10\"");
        assertThat(r.headers().get("Last-Modified")).endsWith("GMT");
        assertThat(r.headers().get("Accept-Ranges")).isEqualTo("bytes");
        assertThat(get("/static/style.css").headers().get("Content-Type")).isEqualTo("text/css");
        assertThat(origin.hits.get()).as("origin requests for static files").isEqualTo(before);
    }

    @Test
    void rootMapsTheWholePathAliasReplacesThePrefix() {
        assertThat(get("/pub/a.txt").body()).isEqualTo(A);
        assertThat(get("/static/a.txt").body()).isEqualTo(A);
        assertThat(get("/static/pub/a.txt").status()).as("alias must not keep the prefix").isEqualTo(404);
    }

    @Test
    void everythingElseGoesUpstreamInTheSameServer() {
        Proxies.Reply r = get("/api/users?id=1");
        assertThat(r.status()).isEqualTo(200);
        assertThat(r.body()).isEqualTo("dynamic /api/users?id=1");
    }

    @Test
    void indexFilesAndTheDirectoryRedirect() {
        Proxies.Reply home = get("/static/");
        assertThat(home.status()).isEqualTo(200);
        assertThat(home.body()).isEqualTo("<h1>home</h1>");
        assertThat(home.headers().get("Content-Type")).isEqualTo("text/html");
        assertThat(get("/static/sub/").body()).isEqualTo("<p>sub</p>");
        Proxies.Reply redirect = get("/static/sub?x=1");
        assertThat(redirect.status()).isEqualTo(301);
        assertThat(redirect.headers().get("Location")).isEqualTo("/static/sub/?x=1");
    }

    @Test
    void noDirectoryListingAndMissingFiles() {
        Proxies.Reply dir = get("/static/dir/");
        assertThat(dir.status()).as("a directory without index").isEqualTo(403);
        assertThat(dir.body()).doesNotContain("x.bin");
        assertThat(get("/static/nope.txt").status()).isEqualTo(404);
        assertThat(get("/static/a.txt/").status()).as("a file named as a directory").isEqualTo(404);
        assertThat(get("/static/a.txt/more").status()).isEqualTo(404);
    }

    @Test
    void conditionalRequestsAnswer304() {
        Proxies.Reply first = get("/static/a.txt");
        String etag = first.headers().get("ETag");
        String lm = first.headers().get("Last-Modified");
        Proxies.Reply inm = get("/static/a.txt", "If-None-Match", "\"other\", " + etag);
        assertThat(inm.status()).isEqualTo(304);
        assertThat(inm.body()).isEmpty();
        assertThat(inm.headers().get("ETag")).isEqualTo(etag);
        assertThat(get("/static/a.txt", "If-None-Match", "W/" + etag).status()).as("weak comparison").isEqualTo(304);
        assertThat(get("/static/a.txt", "If-Modified-Since", lm).status()).isEqualTo(304);
        assertThat(get("/static/a.txt", "If-Modified-Since", "Thu, 01 Jan 1998 00:00:00 GMT").status())
                .isEqualTo(200);
        assertThat(get("/static/a.txt", "If-None-Match", "\"other\"", "If-Modified-Since", lm).status())
                .as("If-None-Match wins over If-Modified-Since").isEqualTo(200);
    }

    @Test
    void singleRangesAnswer206Or416() {
        Proxies.Reply r = get("/static/a.txt", "Range", "bytes=2-5");
        assertThat(r.status()).isEqualTo(206);
        assertThat(r.body()).isEqualTo("2345");
        assertThat(r.headers().get("Content-Range")).isEqualTo("bytes 2-5/16");
        assertThat(get("/static/a.txt", "Range", "bytes=-3").body()).isEqualTo("def");
        assertThat(get("/static/a.txt", "Range", "bytes=10-").body()).isEqualTo("abcdef");
        Proxies.Reply bad = get("/static/a.txt", "Range", "bytes=100-");
        assertThat(bad.status()).isEqualTo(416);
        assertThat(bad.headers().get("Content-Range")).isEqualTo("bytes */16");
        assertThat(get("/static/a.txt", "Range", "bytes=0-1,4-5").status()).as("several ranges → whole file")
                .isEqualTo(200);
        assertThat(get("/static/a.txt", "Range", "bytes=2-5", "If-Range", "\"stale\"").status())
                .as("If-Range that does not match → whole file").isEqualTo(200);
        String etag = get("/static/a.txt").headers().get("ETag");
        assertThat(get("/static/a.txt", "Range", "bytes=2-5", "If-Range", etag).status()).isEqualTo(206);
    }

    @Test
    void aBigFileArrivesWholeAndARangeOfItToo() {
        Buffer whole = Origin.await(Contexts.onContext(vertx, () -> client.request(HttpMethod.GET, port, "127.0.0.1",
                "/static/big.bin").compose(req -> req.send().compose(resp -> resp.body()))));
        assertThat(whole.getBytes()).isEqualTo(big);
        Buffer tail = Origin.await(Contexts.onContext(vertx, () -> client.request(HttpMethod.GET, port, "127.0.0.1",
                "/pub/big.bin").compose(req -> req.putHeader("Range", "bytes=3000000-").send()
                .compose(resp -> resp.body()))));
        assertThat(tail.getBytes()).isEqualTo(java.util.Arrays.copyOfRange(big, 3_000_000, big.length));
    }

    /**
     * Over TLS a file cannot go out with sendfile: it is read and encrypted in chunks (the pipeline keeps Vert.x's
     * chunked writer there, while a plain connection drops it). Two files on one kept-alive connection, whole.
     */
    @Test
    void overTlsABigFileArrivesWholeAndTheConnectionServesTheNextRequest() {
        for (String uri : List.of("/static/big.bin", "/pub/big.bin", "/static/a.txt")) {
            Buffer body = Origin.await(Contexts.onContext(vertx, () -> tlsClient.request(HttpMethod.GET, tlsPort,
                    "127.0.0.1", uri).compose(req -> req.send().compose(resp -> resp.body()))));
            assertThat(body.getBytes()).as(uri).isEqualTo(uri.endsWith("a.txt") ? A.getBytes(StandardCharsets.UTF_8) : big);
        }
    }

    @Test
    void headHasTheLengthButNoBodyAndOtherMethodsAre405() {
        String raw = Proxies.raw(port, "HEAD /static/a.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        assertThat(raw).startsWith("HTTP/1.1 200");
        assertThat(raw.toLowerCase()).contains("content-length: 16");
        assertThat(raw).endsWith("\r\n\r\n");
        Proxies.Reply post = Proxies.send(client, port, HttpMethod.POST, "/static/a.txt", Buffer.buffer("x"));
        assertThat(post.status()).isEqualTo(405);
        assertThat(post.headers().get("Allow")).isEqualTo("GET, HEAD");
    }

    @Test
    void aSymlinkInsideTheRootIsFollowed() {
        assertThat(get("/static/inlink.txt").body()).isEqualTo(A);
    }

    @Test
    void everyTraversalAttemptIsRefused() {
        List<String> attempts = List.of(
                "/static/../secret.txt",
                "/static/../../secret.txt",
                "/static/./../secret.txt",
                "/static/%2e%2e/secret.txt",
                "/static/%2E%2E/secret.txt",
                "/static/.%2e/secret.txt",
                "/static/..%2fsecret.txt",
                "/static/%2e%2e%2fsecret.txt",
                "/static/..%2Fsecret.txt",
                "/static/..%5csecret.txt",
                "/static/..%5Csecret.txt",
                "/static/..\\secret.txt",
                "/static/dir\\..\\..\\secret.txt",
                "/static/a.txt%00.html",
                "/static/%00",
                "/static/%252e%252e/secret.txt",
                "/static/%c0%ae%c0%ae/secret.txt",
                "/static/escape.txt",
                "/static/outdir/secret.txt",
                "/static/outdir/",
                "/pub/../secret.txt",
                "/pub/%2e%2e/%2e%2e/secret.txt",
                "/pub/pub/../../secret.txt",
                "/pub/escape.txt",
                "/pub/outdir/secret.txt");
        for (String path : attempts) {
            String raw = Proxies.raw(port, "GET " + path + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
            assertThat(raw).as("answer to GET %s", path).doesNotContain(SECRET);
            // Dot segments are resolved before routing: "/static/../secret.txt" is the request "/secret.txt", which
            // the "/" location forwards to the origin in that normalized form.
            assertThat(raw).as("status of GET %s (expected a refusal, or the origin asked for /secret.txt)", path)
                    .matches("(?s)HTTP/1.1 (400|403|404) .*|HTTP/1.1 200 .*dynamic /secret.txt");
        }
        assertThat(Proxies.raw(port, "GET /static/escape.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"))
                .as("a symlink out of the root").startsWith("HTTP/1.1 403");
        assertThat(Proxies.raw(port, "GET /static/..%2fsecret.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"))
                .as("an encoded slash").startsWith("HTTP/1.1 400");
    }

    @Test
    void configErrorsSayWhatIsWrong() {
        String base = """
                listeners: [{address: 127.0.0.1:0}]
                upstreams: {app: {servers: [{address: 127.0.0.1:1}]}}
                servers: [{default: true, locations: [%s]}]
                """;
        assertThat(problems(base.formatted("{prefix: /s/, root: '" + tmp + "', upstream: app}")))
                .contains("not both");
        assertThat(problems(base.formatted("{prefix: /s/, root: '" + tmp + "', alias: '" + tmp + "'}")))
                .contains("root: or alias:, not both");
        assertThat(problems(base.formatted("{regex: '\\\\.png$', alias: '" + tmp + "'}")))
                .contains("alias: needs a prefix or exact location");
        assertThat(problems(base.formatted("{prefix: /s/, root: '" + tmp.resolve("missing") + "'}")))
                .contains("does not exist");
        assertThat(problems(base.formatted("{prefix: /s/, root: '" + tmp + "', index: ['../x']}")))
                .contains("is not a file name");
        assertThat(problems(base.formatted("{prefix: /s/, root: '" + tmp + "'}"))).isEmpty();
    }

    private static String problems(String yaml) {
        Problems p = new Problems();
        ProxyConfig.parse(ConfigMap.of(YamlLoader.parse("test.yaml", yaml), p));
        return p.format();
    }

    @Test
    void segmentsAreDecodedStrictly() {
        assertThat(StaticFiles.segments("/a/./b//c%20d")).containsExactly("a", "b", "c d");
        assertThat(StaticFiles.segments("/caf%C3%A9")).containsExactly("café");
        for (String bad : List.of("/a/%zz", "/a/%2", "/%c0%ae", "/a/..", "/a%2fb", "/a%5Cb", "/a\\b", "/a%00")) {
            try {
                StaticFiles.segments(bad);
                throw new AssertionError("expected " + bad + " to be refused");
            } catch (IllegalArgumentException expected) {
                assertThat(expected.getMessage()).isNotBlank();
            }
        }
        assertThat(new String("ok".getBytes(StandardCharsets.UTF_8), StandardCharsets.UTF_8)).isEqualTo("ok");
    }
}
