package io.tiergate.proxy.forward;

import io.tiergate.proxy.ProxyNode;
import io.tiergate.proxy.support.Origin;
import io.tiergate.proxy.support.Proxies;
import io.tiergate.proxy.support.RawResponse;
import io.tiergate.proxy.support.ScriptedOrigin;
import io.vertx.core.Vertx;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The two clients behind {@link UpstreamSender}: plain HTTP/1.1 upstreams go through the Netty path by default,
 * {@code -Dtiergate.upstream.client=vertx} sends them through Vert.x's HttpClient. An origin must not be able to tell
 * them apart, and the Netty path's own pool must keep the group's {@code keepalive_timeout} and
 * {@code max_connections_per_server}. (Everything else — retries, hostile origins, hygiene — runs through the default
 * path in the other forward tests.)
 */
@Timeout(60)
class UpstreamClientPathTest {
    static final int LOOPS = Runtime.getRuntime().availableProcessors(); // the proxy's event loops
    Vertx vertx;
    ScriptedOrigin origin;
    final List<ProxyNode> proxies = new ArrayList<>();

    @BeforeEach
    void start() {
        vertx = io.tiergate.shared.runtime.Runtimes.vertx();
        origin = ScriptedOrigin.start(ScriptedOrigin.ok("hello"));
    }

    @AfterEach
    void stop() {
        proxies.forEach(p -> Origin.await(p.shutdown(Duration.ZERO)));
        origin.close();
        Origin.await(vertx.close());
    }

    /** A proxy in front of {@link #origin} whose plain HTTP/1.1 upstreams use {@code client}. */
    private int proxy(String client, String upstreamExtra) {
        return proxy(client, upstreamExtra, "");
    }

    /** As above, with {@code top} (YAML lines at the proxy's top level, e.g. timeouts) added. */
    private int proxy(String client, String upstreamExtra, String top) {
        String before = System.getProperty(UpstreamClient.CLIENT_PROPERTY);
        System.setProperty(UpstreamClient.CLIENT_PROPERTY, client);
        try {
            ProxyNode p = Proxies.start(vertx, """
                    admin: "off"
                    listeners: [{address: 127.0.0.1:0}]
                    upstreams:
                      app: {servers: [{address: %s}]%s}
                    servers:
                      - default: true
                        locations: [{prefix: /, upstream: app}]
                    %s
                    """.formatted(origin.address(), upstreamExtra, top));
            proxies.add(p);
            return p.listenPorts().get(0);
        } finally {
            if (before == null) {
                System.clearProperty(UpstreamClient.CLIENT_PROPERTY);
            } else {
                System.setProperty(UpstreamClient.CLIENT_PROPERTY, before);
            }
        }
    }

    /**
     * The head the origin received as a sorted list of lines, field names in lower case (they are case-insensitive:
     * Vert.x writes "host", Netty's path "Host"), the request id's random value taken out.
     */
    private static List<String> comparable(ScriptedOrigin.Request r) {
        return Arrays.stream(r.head().split("\r\n"))
                .map(l -> l.indexOf(':') > 0 ? l.substring(0, l.indexOf(':')).toLowerCase(java.util.Locale.ROOT)
                        + l.substring(l.indexOf(':')) : l)
                .map(l -> l.startsWith("x-request-id:") ? "x-request-id: <id>" : l)
                .sorted().toList();
    }

    @Test
    void anOriginSeesTheSameRequestFromEitherClient() {
        int netty = proxy("netty", "");
        int vertxPath = proxy("vertx", "");
        // Hop-by-hop fields (also one named by Connection), forwarding fields, a body, a query, an absolute-form
        // target whose authority replaces Host.
        String request = "POST http://shop.example:8080/a/b?x=1&y=%20 HTTP/1.1\r\nHost: ignored.example\r\n"
                + "Connection: keep-alive, X-Secret\r\nX-Secret: s\r\nKeep-Alive: timeout=5\r\nTE: trailers\r\n"
                + "X-Forwarded-For: 203.0.113.9\r\nAccept: */*\r\nX-Multi: 1\r\nX-Multi: 2\r\n"
                + "Content-Length: 5\r\n\r\nhello";
        List<List<String>> heads = new ArrayList<>();
        List<String> bodies = new ArrayList<>();
        for (int port : new int[] {netty, vertxPath}) {
            RawResponse r = RawResponse.exchange(port, request, Duration.ofSeconds(10));
            assertThat(r.status()).as(r.head()).isEqualTo(200);
            assertThat(r.body()).isEqualTo("hello");
            heads.add(comparable(origin.last()));
            bodies.add(new String(origin.last().body(), java.nio.charset.StandardCharsets.ISO_8859_1));
        }
        assertThat(heads.get(0)).contains("host: shop.example:8080", "content-length: 5", "x-multi: 1", "x-multi: 2",
                        "x-forwarded-for: 127.0.0.1")
                .noneMatch(l -> l.startsWith("x-secret") || l.startsWith("keep-alive") || l.startsWith("te:"));
        assertThat(heads.get(0)).as("the Netty path's head against Vert.x's").isEqualTo(heads.get(1));
        assertThat(bodies).containsExactly("hello", "hello");
    }

    /** What a client asking for trailers reads after the request, up to the end of the chunked body's trailers. */
    private static String chunkedWithTrailers(int port, String path) throws Exception {
        try (var client = new java.net.Socket("127.0.0.1", port)) {
            client.setSoTimeout(10_000);
            client.getOutputStream().write(("GET " + path + " HTTP/1.1\r\nHost: a\r\nTE: trailers\r\n\r\n")
                    .getBytes(java.nio.charset.StandardCharsets.ISO_8859_1));
            var in = client.getInputStream();
            var seen = new java.io.ByteArrayOutputStream();
            int b;
            while ((b = in.read()) >= 0) {
                seen.write(b);
                String s = seen.toString(java.nio.charset.StandardCharsets.ISO_8859_1);
                if (s.contains("\r\n0\r\n") && s.endsWith("\r\n\r\n") && s.indexOf("\r\n0\r\n") < s.length() - 4) {
                    break; // the last chunk and the blank line after its trailers
                }
            }
            return seen.toString(java.nio.charset.StandardCharsets.ISO_8859_1);
        }
    }

    @Test
    void aHeadResponseEndsWithItsHeadWhateverLengthItAnnounces() throws Exception {
        int port = proxy("netty", "");
        // A HEAD response announces the length a GET would get and carries no body (RFC 9110 §9.3.2): a decoder
        // that waited for those 1,000 bytes would hold the client until the read timeout and lose the connection.
        origin.then((c, r) -> c.write("HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n"));
        try (var client = new java.net.Socket("127.0.0.1", port)) {
            client.setSoTimeout(10_000);
            client.getOutputStream().write("HEAD /h HTTP/1.1\r\nHost: a\r\n\r\n".getBytes());
            var in = client.getInputStream();
            var head = new StringBuilder();
            while (!head.toString().endsWith("\r\n\r\n")) {
                head.append((char) in.read());
            }
            assertThat(head.toString()).startsWith("HTTP/1.1 200").contains("Content-Length: 1000");
            client.getOutputStream().write("GET /next HTTP/1.1\r\nHost: a\r\n\r\n".getBytes());
            RawResponse next = RawResponse.read(in, System.nanoTime());
            assertThat(next.status()).isEqualTo(200);
            assertThat(next.body()).isEqualTo("hello");
        }
        assertThat(origin.received).hasSize(2);
        assertThat(origin.received.get(1).connection()).as("the upstream connection was reused: the HEAD response ended")
                .isEqualTo(origin.received.get(0).connection());
    }

    @Test
    void fieldNamesReachTheClientInTheOriginsOwnCase() throws Exception {
        int port = proxy("netty", "");
        // Known names in canonical, lower and odd case, and unknown ones: whichever the decoder shares as constants,
        // the client sees each name as the origin wrote it; status and reason as sent, the common and the rare.
        for (String status : new String[] {"200 OK", "203 Non-Authoritative Information", "299 Whatever"}) {
            origin.then((c, r) -> c.write("HTTP/1.1 " + status + "\r\nServer: o\r\ncontent-type: text/plain\r\n"
                    + "ETAG: \"e\"\r\nX-Odd-Case: 1\r\ncache-Control: no-store\r\nContent-Length: 2\r\n\r\nok"));
            RawResponse r = RawResponse.exchange(port, "GET /case HTTP/1.1\r\nHost: a\r\n\r\n", Duration.ofSeconds(10));
            assertThat(r.status()).isEqualTo(Integer.parseInt(status.substring(0, 3)));
            assertThat(r.body()).isEqualTo("ok");
            assertThat(r.head()).contains("\r\nServer: o\r\n", "\r\ncontent-type: text/plain\r\n",
                    "\r\nETAG: \"e\"\r\n", "\r\nX-Odd-Case: 1\r\n", "\r\ncache-Control: no-store\r\n");
        }
    }

    @Test
    void anOriginsTrailersReachAClientThatAsksButNeverAProhibitedOne() throws Exception {
        int port = proxy("netty", "");
        String chunked = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: X-Checksum\r\n\r\n"
                + "5\r\nhello\r\n0\r\n";
        origin.then((c, r) -> c.write(chunked + "X-Checksum: abc\r\n\r\n"));
        String ok = chunkedWithTrailers(port, "/ok");
        assertThat(ok).startsWith("HTTP/1.1 200").contains("hello").containsIgnoringCase("x-checksum: abc");
        // RFC 9110 §6.5.1: framing fields are not allowed as trailers. The origin's response is broken there: the
        // client never sees the field, however the rest of the response ends.
        origin.then((c, r) -> c.write(chunked + "X-Checksum: abc\r\nContent-Length: 99\r\n\r\n"));
        String bad;
        try {
            bad = chunkedWithTrailers(port, "/bad");
        } catch (java.io.IOException e) {
            bad = "";
        }
        assertThat(bad.toLowerCase(java.util.Locale.ROOT)).doesNotContain("content-length: 99");
        assertThat(RawResponse.exchange(port, "GET /after HTTP/1.1\r\nHost: a\r\n\r\n", Duration.ofSeconds(10))
                .status()).as("the proxy serves on").isEqualTo(200);
    }

    @Test
    void aKeptAliveConnectionIsReusedThenClosedAfterKeepaliveTimeout() throws Exception {
        int port = proxy("netty", ", keepalive_timeout: 1s");
        try (var client = new java.net.Socket("127.0.0.1", port)) {
            client.setSoTimeout(10_000);
            for (int i = 0; i < 5; i++) {
                client.getOutputStream().write(("GET /k" + i + " HTTP/1.1\r\nHost: a\r\n\r\n").getBytes());
                RawResponse r = RawResponse.read(client.getInputStream(), System.nanoTime());
                assertThat(r.status()).isEqualTo(200);
            }
            assertThat(origin.connections.get()).as("five requests on one client connection, one upstream one")
                    .isEqualTo(1);
            Thread.sleep(3000); // well past keepalive_timeout: the idle upstream connection is closed by the proxy
            client.getOutputStream().write("GET /after HTTP/1.1\r\nHost: a\r\n\r\n".getBytes());
            assertThat(RawResponse.read(client.getInputStream(), System.nanoTime()).status()).isEqualTo(200);
            assertThat(origin.connections.get()).as("a new upstream connection after keepalive_timeout").isEqualTo(2);
        }
    }

    @Test
    void maxConnectionsPerServerMakesRequestsWaitForAConnection() {
        int port = proxy("netty", ", max_connections_per_server: 1");
        AtomicInteger busy = new AtomicInteger();
        AtomicInteger most = new AtomicInteger();
        origin.fallback((c, r) -> {
            most.accumulateAndGet(busy.incrementAndGet(), Math::max);
            c.pause(300);
            busy.decrementAndGet();
            c.write("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
        });
        int clients = 3 * LOOPS + 2;
        var threads = java.util.concurrent.Executors.newFixedThreadPool(clients);
        List<CompletableFuture<RawResponse>> all = new ArrayList<>();
        for (int i = 0; i < clients; i++) {
            String path = "/w" + i;
            all.add(CompletableFuture.supplyAsync(() -> RawResponse.exchange(port,
                    "GET " + path + " HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n", Duration.ofSeconds(30)),
                    threads));
        }
        threads.shutdown();
        for (CompletableFuture<RawResponse> f : all) {
            RawResponse r = f.join();
            assertThat(r.status()).as(r.head()).isEqualTo(200);
            assertThat(r.body()).isEqualTo("ok");
        }
        // One connection per event loop at most: the rest waited for it instead of opening more.
        assertThat(origin.connections.get()).isLessThanOrEqualTo(LOOPS);
        assertThat(most.get()).isLessThanOrEqualTo(LOOPS);
        assertThat(origin.received).hasSize(clients);
    }

    @Test
    void aRequestThatFindsNoFreeConnectionInTimeFailsAtTheConnectTimeoutNotWhenOneFreesUp() {
        int port = proxy("netty", ", max_connections_per_server: 1", "timeouts: {upstream_connect: 500ms}");
        origin.fallback((c, r) -> {
            c.pause(4000);
            c.write("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
        });
        int clients = 3 * LOOPS + 2;
        var threads = java.util.concurrent.Executors.newFixedThreadPool(clients);
        List<CompletableFuture<long[]>> all = new ArrayList<>();
        for (int i = 0; i < clients; i++) {
            String path = "/w" + i;
            all.add(CompletableFuture.supplyAsync(() -> {
                long t0 = System.nanoTime();
                RawResponse r = RawResponse.exchange(port,
                        "GET " + path + " HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n", Duration.ofSeconds(30));
                return new long[] {r.status(), (System.nanoTime() - t0) / 1_000_000};
            }, threads));
        }
        threads.shutdown();
        int ok = 0;
        for (CompletableFuture<long[]> f : all) {
            long[] r = f.join();
            if (r[0] == 200) {
                ok++;
                continue;
            }
            // Failed by the wait for a free connection (500 ms, and once more if retried): without the timer it would
            // wait until its loop's one connection frees up at 4 s and then get the origin's 200 another 4 s later.
            // The upper bound leaves room for a loaded machine, not for that.
            assertThat(r[0]).as("a request that found no free connection").isEqualTo(502);
            assertThat(r[1]).as("ms until its answer").isBetween(400L, 7000L);
        }
        assertThat(ok).as("requests that got their loop's one connection").isBetween(1, LOOPS);
        assertThat(origin.connections.get()).isLessThanOrEqualTo(LOOPS);
    }
}
