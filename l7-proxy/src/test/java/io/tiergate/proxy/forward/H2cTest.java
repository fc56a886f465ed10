package io.tiergate.proxy.forward;

import io.tiergate.proxy.ProxyNode;
import io.tiergate.proxy.support.Origin;
import io.tiergate.proxy.support.Proxies;
import io.tiergate.shared.Contexts;
import io.tiergate.shared.config.ConfigMap;
import io.tiergate.shared.config.Problems;
import io.tiergate.shared.config.YamlLoader;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpClientAgent;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpConnection;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpVersion;
import io.vertx.core.http.RequestOptions;
import io.vertx.core.net.SelfSignedCertificate;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static io.tiergate.proxy.support.Proxies.readAll;
import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * HTTP/2 over cleartext on a plain listener — with prior knowledge and by {@code Upgrade: h2c} — proxied to an HTTP/1.1
 * origin, while HTTP/1.x clients on the same listener keep the slowloris defence (the first head must be complete
 * within client_header even though Vert.x only creates the connection once it is) and idle HTTP/2 connections are
 * closed after keepalive.
 */
@Timeout(60)
class H2cTest {
    static final String PREFACE = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
    static Vertx vertx;
    static Origin origin;
    static ProxyNode proxy;
    static int h2c;
    static int http1Only;

    @BeforeAll
    static void start() {
        vertx = io.tiergate.shared.runtime.Runtimes.vertx();
        origin = Origin.start(vertx, "origin", (o, req, body) -> {
            String answer = "origin saw " + req.version() + " " + req.method() + " " + req.uri() + " body=" + body
                    + " via=" + req.getHeader("Via") + " xff=" + req.getHeader("X-Forwarded-For");
            if (req.uri().startsWith("/cached/")) {
                req.response().putHeader("Cache-Control", "max-age=60").putHeader("Connection", "keep-alive");
            }
            if (req.uri().startsWith("/slow")) {
                vertx.setTimer(1500, id -> req.response().end(answer));
            } else {
                req.response().end(answer);
            }
        });
        proxy = Proxies.start(vertx, """
                node_name: edge
                access_log: {format: off}
                timeouts: {client_header: 500ms, keepalive: 700ms}
                listeners:
                  - {name: default, address: 127.0.0.1:0}
                  - {name: no-h2c, address: 127.0.0.1:0, h2c: false}
                upstreams: {app: {servers: ["%s"]}}
                cache: {max_size: 16m}
                servers: [{default: true, locations: [
                  {prefix: /cached/, upstream: app, cache: on, headers: {response: {set: {X-Edge: yes}}}},
                  {prefix: /, upstream: app}]}]
                """.formatted(origin.address()));
        h2c = proxy.listenPorts().get(0);
        http1Only = proxy.listenPorts().get(1);
    }

    @AfterAll
    static void stop() {
        Origin.await(proxy.shutdown(Duration.ZERO));
        origin.close();
        Origin.await(vertx.close());
    }

    private record Seen(HttpVersion version, int status, String body, HttpConnection connection) {
    }

    private static HttpClientAgent client(boolean upgrade) {
        return vertx.createHttpClient(new HttpClientOptions().setProtocolVersion(HttpVersion.HTTP_2)
                .setHttp2ClearTextUpgrade(upgrade));
    }

    private static Seen call(HttpClientAgent c, int port, HttpMethod method, String uri, String body) {
        RequestOptions o = new RequestOptions().setMethod(method).setHost("127.0.0.1").setPort(port).setURI(uri);
        return Origin.await(Contexts.onContext(vertx, () -> c.request(o)
                .compose(req -> (body == null ? req.send() : req.send(body))
                .compose(resp -> resp.body().map(b -> new Seen(resp.version(), resp.statusCode(), b.toString(),
                        resp.request().connection()))))));
    }

    /** A hit's stored head is written straight into the HTTP/2 response's headers: lower-case, no hop-by-hop field. */
    @Test
    void aCacheHitIsServedOverHttp2() {
        HttpClientAgent c = client(false);
        try {
            int before = origin.hits.get();
            for (String expect : List.of("tiergate; fwd=uri-miss", "tiergate; hit")) {
                RequestOptions o = new RequestOptions().setHost("127.0.0.1").setPort(h2c).setURI("/cached/h2");
                String seen = Origin.await(Contexts.onContext(vertx, () -> c.request(o).compose(req -> req.send()
                        .compose(resp -> resp.body().map(b -> resp.version() + " " + resp.statusCode() + " "
                                + resp.headers().getAll("cache-status") + " " + resp.headers().getAll("x-edge") + " "
                                + resp.headers().getAll("content-length") + " " + resp.headers().contains("connection")
                                + " " + b)))));
                assertThat(seen).startsWith("HTTP_2 200 [" + expect).contains("] [yes] [")
                        .endsWith(" false origin saw HTTP_1_1 GET /cached/h2 body= via=2 edge xff=127.0.0.1");
            }
            assertThat(origin.hits.get() - before).as("origin requests").isEqualTo(1);
        } finally {
            c.close();
        }
    }

    @Test
    void priorKnowledgeIsServedOverHttp2AndForwardedAsHttp11() {
        HttpClientAgent c = client(false);
        try {
            Seen s = call(c, h2c, HttpMethod.GET, "/pk?a=1", null);
            assertThat(s.version()).as("the client spoke HTTP/2 from the first byte").isEqualTo(HttpVersion.HTTP_2);
            assertThat(s.status()).isEqualTo(200);
            assertThat(s.body()).as("forwarded to the HTTP/1.1 origin; Via names the client's HTTP/2")
                    .isEqualTo("origin saw HTTP_1_1 GET /pk?a=1 body= via=2 edge xff=127.0.0.1");
            Seen post = call(c, h2c, HttpMethod.POST, "/pk-post", "hello");
            assertThat(post.body()).as("a request body on a second stream of the same connection")
                    .isEqualTo("origin saw HTTP_1_1 POST /pk-post body=hello via=2 edge xff=127.0.0.1");
            assertThat(post.connection()).as("one HTTP/2 connection for both").isSameAs(s.connection());
        } finally {
            c.close();
        }
    }

    @Test
    void upgradeH2cIsServedOverHttp2() {
        HttpClientAgent c = client(true);
        try {
            Seen first = call(c, h2c, HttpMethod.GET, "/up/1", null);
            assertThat(first.version()).as("101 Switching Protocols, then the answer on stream 1")
                    .isEqualTo(HttpVersion.HTTP_2);
            assertThat(first.body()).isEqualTo("origin saw HTTP_1_1 GET /up/1 body= via=2 edge xff=127.0.0.1");
            Seen second = call(c, h2c, HttpMethod.GET, "/up/2", null);
            assertThat(second.version()).isEqualTo(HttpVersion.HTTP_2);
            assertThat(second.body()).startsWith("origin saw HTTP_1_1 GET /up/2 ");
        } finally {
            c.close();
        }
    }

    @Test
    void curlWithPriorKnowledgeAndWithUpgrade() throws Exception {
        assumeTrue(Files.isExecutable(Path.of("/usr/bin/curl")), "no /usr/bin/curl on this machine");
        String pk = curl("--http2-prior-knowledge", "http://127.0.0.1:" + h2c + "/curl-pk");
        assertThat(pk).as("curl --http2-prior-knowledge").isEqualTo("2|origin saw HTTP_1_1 GET /curl-pk body= via=2 edge xff=127.0.0.1");
        String up = curl("--http2", "http://127.0.0.1:" + h2c + "/curl-up");
        assertThat(up).as("curl --http2 on http:// (Upgrade: h2c)").isEqualTo("2|origin saw HTTP_1_1 GET /curl-up body= via=2 edge xff=127.0.0.1");
        String plain = curl("--http1.1", "http://127.0.0.1:" + h2c + "/curl-h1");
        assertThat(plain).as("HTTP/1.1 on the same listener").isEqualTo("1.1|origin saw HTTP_1_1 GET /curl-h1 body= via=1.1 edge xff=127.0.0.1");
    }

    private static String curl(String... args) throws Exception {
        List<String> cmd = new ArrayList<>(List.of("/usr/bin/curl", "-sS", "--max-time", "10", "-w", "|%{http_version}"));
        cmd.addAll(List.of(args));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(15, TimeUnit.SECONDS)).isTrue();
        int bar = out.lastIndexOf('|');
        return bar < 0 ? out : out.substring(bar + 1) + "|" + out.substring(0, bar);
    }

    @Test
    void anIdleHttp2ConnectionIsClosedAfterKeepaliveButNotWhileAStreamIsOpen() {
        HttpClientAgent c = client(false);
        try {
            Seen slow = call(c, h2c, HttpMethod.GET, "/slow", null);
            assertThat(slow.body()).as("a stream open for 1.5 s, longer than keepalive (700ms), is not cut")
                    .startsWith("origin saw HTTP_1_1 GET /slow ");
            Promise<Void> closed = Promise.promise();
            long t0 = System.nanoTime();
            slow.connection().closeHandler(v -> closed.tryComplete());
            Origin.await(closed.future(), Duration.ofSeconds(10));
            assertThat(Duration.ofNanos(System.nanoTime() - t0)).as("closed after about keepalive (700ms) without a stream")
                    .isBetween(Duration.ofMillis(400), Duration.ofMillis(3000));
        } finally {
            c.close();
        }
    }

    // ---- HTTP/1.x on the h2c listener keeps the slowloris defence ----

    @Test
    void aClientTricklingItsFirstHeadIsCutAtClientHeaderWithAndWithoutH2c() {
        assertThat(Proxies.trickleHead(h2c)).as("h2c listener: the connection exists only once the head is complete")
                .isLessThan(Duration.ofMillis(2500));
        assertThat(Proxies.trickleHead(http1Only)).as("h2c: false: the connection exists from accept")
                .isLessThan(Duration.ofMillis(2500));
    }

    @Test
    void silentConnectionsAndPartialPrefacesAreCutAtClientHeader() throws Exception {
        for (String sent : new String[] {"", PREFACE.substring(0, 10)}) {
            try (Socket s = new Socket("127.0.0.1", h2c)) {
                s.setSoTimeout(5000);
                s.getOutputStream().write(sent.getBytes(StandardCharsets.ISO_8859_1));
                long t0 = System.nanoTime();
                assertThat(readAll(s.getInputStream())).as("sent '%s': closed without an answer", sent).isEmpty();
                assertThat(Duration.ofNanos(System.nanoTime() - t0)).as("sent '%s': closed at about client_header", sent)
                        .isBetween(Duration.ofMillis(300), Duration.ofMillis(2500));
            }
        }
    }

    @Test
    void pipelinedHttp11RequestsAreAllAnsweredThenTheIdleConnectionIsClosedAtKeepalive() throws Exception {
        try (Socket s = new Socket("127.0.0.1", h2c)) {
            s.setSoTimeout(5000);
            String three = "GET /p/1 HTTP/1.1\r\nHost: a\r\n\r\nGET /slow/2 HTTP/1.1\r\nHost: a\r\n\r\n"
                    + "GET /p/3 HTTP/1.1\r\nHost: a\r\n\r\n";
            s.getOutputStream().write(three.getBytes(StandardCharsets.ISO_8859_1));
            long t0 = System.nanoTime();
            String r = readAll(s.getInputStream());
            assertThat(r.split("HTTP/1.1 200", -1)).as("three answers on the connection, the slow one included: " + r)
                    .hasSize(4);
            assertThat(r).contains("GET /p/1 ", "GET /slow/2 ", "GET /p/3 ");
            assertThat(Duration.ofNanos(System.nanoTime() - t0)).as("closed about keepalive after the last answer")
                    .isBetween(Duration.ofMillis(1500 + 400), Duration.ofMillis(1500 + 3000));
        }
    }

    @Test
    void withH2cOffThePrefaceIsNotHttp2() throws Exception {
        try (Socket s = new Socket("127.0.0.1", http1Only)) {
            s.setSoTimeout(5000);
            s.getOutputStream().write(PREFACE.getBytes(StandardCharsets.ISO_8859_1));
            String r = readAll(s.getInputStream());
            assertThat(r).as("never forwarded").doesNotContain("origin saw");
            assertThat(r.isEmpty() || r.startsWith("HTTP/")).as("a text error or nothing, not an HTTP/2 SETTINGS frame: " + r)
                    .isTrue();
        }
        HttpClientAgent c = vertx.createHttpClient();
        try {
            assertThat(Proxies.get(c, http1Only, "/h1").body()).startsWith("origin saw HTTP_1_1 GET /h1 ");
        } finally {
            c.close();
        }
    }

    @Test
    void h2cOnATlsListenerIsAConfigError() {
        SelfSignedCertificate cert = SelfSignedCertificate.create("a.example");
        Problems problems = new Problems();
        io.tiergate.proxy.config.ProxyConfig.parse(ConfigMap.of(YamlLoader.parse("test.yaml", """
                listeners:
                  - {address: 127.0.0.1:0, h2c: true, tls: {certificates: [{cert: %s, key: %s}]}}
                upstreams: {app: {servers: ["127.0.0.1:1"]}}
                servers: [{default: true, locations: [{prefix: /, upstream: app}]}]
                """.formatted(cert.certificatePath(), cert.privateKeyPath())), problems));
        assertThat(problems.format()).contains("h2c is HTTP/2 over cleartext, not possible on a TLS listener");
        assertThat(Proxies.config("""
                listeners: [{name: a, address: 127.0.0.1:0}, {name: b, address: 127.0.0.1:0, h2c: off}]
                upstreams: {app: {servers: ["127.0.0.1:1"]}}
                servers: [{default: true, locations: [{prefix: /, upstream: app}]}]
                """).listeners()).extracting(io.tiergate.proxy.config.ListenerConfig::h2c).containsExactly(true, false);
    }
}
