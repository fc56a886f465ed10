package io.tiergate.proxy.forward;

import io.tiergate.proxy.ProxyNode;
import io.tiergate.proxy.support.Origin;
import io.tiergate.proxy.support.Proxies;
import io.tiergate.proxy.support.RawResponse;
import io.tiergate.proxy.support.ScriptedOrigin;
import io.tiergate.shared.Contexts;
import io.vertx.core.MultiMap;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClientAgent;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpClientResponse;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpVersion;
import io.vertx.core.http.RequestOptions;
import io.vertx.core.http.WebSocket;
import io.vertx.core.http.WebSocketClient;
import io.vertx.core.http.WebSocketConnectOptions;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * An origin that misbehaves on purpose — stalls, over-long or malformed responses, garbage, 1xx sequences — driven by
 * {@link ScriptedOrigin}, and what a client of the proxy notices: the status and body, whether a cut response is
 * visibly cut, how long it is held, and that the next request on the pool gets a clean connection and the right
 * answer. {@code upstream_read} is 1 s; every stall is 30 s, so "cut well before 10 s" proves the idle timeout.
 */
@Timeout(60)
class HostileUpstreamTest {
    static final long STALL = 30_000;
    static final Duration CUT_WITHIN = Duration.ofSeconds(10);
    static final int LOOPS = Runtime.getRuntime().availableProcessors(); // the proxy's event loops
    Vertx vertx;
    ScriptedOrigin origin;
    ScriptedOrigin silent;
    ScriptedOrigin healthy;
    ProxyNode proxy;
    int port;
    java.nio.file.Path accessLog;

    @BeforeEach
    void start() {
        vertx = io.tiergate.shared.runtime.Runtimes.vertx();
        origin = ScriptedOrigin.start(ScriptedOrigin.ok("fine"));
        silent = ScriptedOrigin.start((c, r) -> c.stall(STALL));
        healthy = ScriptedOrigin.start(ScriptedOrigin.ok("from-healthy"));
        try {
            accessLog = java.nio.file.Files.createTempFile("hostile-upstream", ".log");
        } catch (java.io.IOException e) {
            throw new RuntimeException(e);
        }
        proxy = Proxies.start(vertx, """
                access_log: {format: json, path: %s}
                timeouts: {upstream_read: 1s, keepalive: 10s}
                listeners: [{address: 127.0.0.1:0}]
                cache: {max_size: 16m}
                upstreams:
                  app: {servers: [{address: %s}], keepalive_timeout: 30s}
                  pair: {servers: [{address: %s, max_fails: 0}, {address: %s, max_fails: 0}]}
                servers:
                  - default: true
                    locations:
                      - {prefix: /, upstream: app}
                      - {prefix: /pair/, upstream: pair}
                      - {prefix: /cached/, upstream: app, cache: on}
                """.formatted(accessLog, origin.address(), silent.address(), healthy.address()));
        port = proxy.listenPorts().get(0);
    }

    @AfterEach
    void stop() {
        Origin.await(proxy.shutdown(Duration.ZERO));
        origin.close();
        silent.close();
        healthy.close();
        Origin.await(vertx.close());
        try {
            java.nio.file.Files.deleteIfExists(accessLog);
        } catch (java.io.IOException ignored) {
            // a temp file
        }
    }

    /** The access log line of {@code path} (the log is written by a background thread: wait up to 5 s). */
    private String logLine(String path) {
        long end = System.nanoTime() + Duration.ofSeconds(5).toNanos();
        while (System.nanoTime() < end) {
            try {
                for (String line : java.nio.file.Files.readAllLines(accessLog)) {
                    if (line.contains("\"uri\":\"" + path + "\"")) {
                        return line;
                    }
                }
            } catch (java.io.IOException e) {
                throw new RuntimeException(e);
            }
            sleep(100);
        }
        throw new AssertionError("no access log line for " + path);
    }

    /** The origin sends {@code bytes}, then nothing more for 30 s. */
    static ScriptedOrigin.Script sendThenStall(String bytes) {
        return (c, r) -> {
            c.write(bytes);
            c.stall(STALL);
        };
    }

    static RawResponse get(int port, String path) {
        return RawResponse.exchange(port, "GET " + path + " HTTP/1.1\r\nHost: shop.example\r\n\r\n",
                Duration.ofSeconds(40));
    }

    /**
     * The requests after a poisoned one: right body, on connections the poisoned response never touched. The proxy
     * keeps one upstream pool per event loop and spreads client connections over its loops, so one request more than
     * there are loops is sure to reach the poisoned connection's pool.
     */
    private void nextRequestIsClean(int poisonedConnection) {
        int before = origin.received.size();
        for (int i = 0; i <= LOOPS; i++) {
            RawResponse next = get(port, "/next" + i);
            assertThat(next.status()).as("request %d after the misbehaving response", i).isEqualTo(200);
            assertThat(next.body()).as("its own body, not leftovers of the previous response").isEqualTo("fine");
            assertThat(origin.last().requestLine()).isEqualTo("GET /next" + i + " HTTP/1.1");
            assertThat(origin.last().connection()).as("a clean upstream connection, never the poisoned one")
                    .isNotEqualTo(poisonedConnection);
        }
        assertThat(origin.received.subList(before, origin.received.size()))
                .as("each request reached the origin once, none of them on the poisoned connection")
                .hasSize(LOOPS + 1)
                .allSatisfy(r -> assertThat(r.connection()).isNotEqualTo(poisonedConnection));
    }

    /** The origin answers with {@code bytes}: the client gets 502, and the next requests are clean. */
    private void answersWith502(String path, String why, String bytes) {
        origin.then((c, r) -> c.write(bytes));
        RawResponse r = get(port, path);
        assertThat(r.status()).as(why).isEqualTo(502);
        nextRequestIsClean(origin.received.get(0).connection());
    }

    // ---- upstream_read as an idle timeout over the whole response ----

    @Test
    void aSilentOriginGives504AfterUpstreamRead() {
        origin.then((c, r) -> c.stall(STALL));
        RawResponse r = get(port, "/slow");
        assertThat(r.status()).as("no byte came within upstream_read").isEqualTo(504);
        assertThat(r.elapsed()).as("cut after upstream_read (1s), not after the 30 s stall").isLessThan(CUT_WITHIN);
    }

    @Test
    void aStallAfterTheHeadButBeforeAnyBodyByteStillGives504() {
        origin.then(sendThenStall("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n"));
        RawResponse r = get(port, "/head-only");
        assertThat(r.status()).as("nothing had reached the client yet: an honest 504 is still possible")
                .isEqualTo(504);
        assertThat(r.elapsed()).isLessThan(CUT_WITHIN);
    }

    @Test
    void aStallMidBodyClosesTheClientConnectionSoTheTruncationIsVisible() {
        origin.then(sendThenStall("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhello"));
        RawResponse r = get(port, "/mid-body");
        assertThat(r.status()).isEqualTo(200);
        assertThat(r.body()).isEqualTo("hello");
        assertThat(r.complete()).as("5 of 10 declared bytes: the client must see a truncated response").isFalse();
        assertThat(r.closed()).as("the proxy closes the client connection").isTrue();
        assertThat(r.elapsed()).as("cut after upstream_read, not after the 30 s stall").isLessThan(CUT_WITHIN);
        assertThat(logLine("/mid-body")).as("the access log says what happened")
                .contains("\"status\":200", "\"upstream_statuses\":\"200,timeout\"",
                        "\"no_retry\":\"upstream-timeout-mid-response\"");
    }

    @Test
    void aCachedLocationWhoseOriginStallsMidBodyGives504AndCachesNothing() {
        origin.then(sendThenStall("HTTP/1.1 200 OK\r\nCache-Control: max-age=60\r\nContent-Length: 10\r\n\r\nhello"));
        RawResponse r = get(port, "/cached/x");
        assertThat(r.status()).as("the cache buffers the whole response: nothing reached the client yet")
                .isEqualTo(504);
        assertThat(r.elapsed()).isLessThan(CUT_WITHIN);
        RawResponse again = get(port, "/cached/x");
        assertThat(again.status()).isEqualTo(200);
        assertThat(again.body()).as("the half response was not stored").isEqualTo("fine");
    }

    /**
     * A hit's head is written from the stored fields' bytes, not from Strings: a value with obs-text (bytes above
     * 0x7F, which HTTP allows in field values), a name in odd case, a repeated field and an empty value must reach the
     * client on the second (stored) response exactly as on the first (relayed) one.
     */
    @Test
    void aHitCarriesTheStoredFieldsByteForByteAsTheMissDid() {
        origin.then((c, r) -> c.write("HTTP/1.1 200 OK\r\nCache-Control: max-age=60\r\nX-Note: caf\u00e9 \u00ff end\r\n"
                + "x-ODD-case: Value\r\nSet-Cookie-Like: a=1\r\nSet-Cookie-Like: b=2\r\nX-Empty: \r\n"
                + "Content-Length: 5\r\n\r\nhello"));
        RawResponse miss = get(port, "/cached/bytes");
        RawResponse hit = get(port, "/cached/bytes");
        assertThat(miss.header("Cache-Status")).contains("fwd=uri-miss");
        assertThat(hit.header("Cache-Status")).contains("hit");
        assertThat(hit.body()).isEqualTo("hello");
        for (RawResponse r : List.of(miss, hit)) {
            assertThat(r.head()).as("obs-text bytes kept (read as ISO-8859-1)").contains("\r\nX-Note: caf\u00e9 \u00ff end\r\n")
                    .contains("\r\nx-ODD-case: Value\r\n")
                    .contains("\r\nSet-Cookie-Like: a=1\r\nSet-Cookie-Like: b=2\r\n")
                    .contains("\r\nX-Empty: \r\n");
        }
        assertThat(origin.received).as("the hit did not reach the origin").hasSize(1);
    }

    @Test
    void aStallMidChunkedBodyEndsWithoutTheLastChunk() {
        origin.then(sendThenStall("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n"));
        RawResponse r = get(port, "/chunked-stall");
        assertThat(r.status()).isEqualTo(200);
        assertThat(r.body()).isEqualTo("hello");
        assertThat(r.complete()).as("no terminating zero-length chunk: visibly truncated").isFalse();
        assertThat(r.closed()).isTrue();
        assertThat(r.elapsed()).isLessThan(CUT_WITHIN);
    }

    @Test
    void aSlowButSteadyBodyIsNotCutBecauseTheTimeoutIsBetweenReads() {
        origin.then((c, r) -> {
            c.write("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n");
            for (int i = 0; i < 6; i++) {
                c.pause(400).write("2\r\n" + i + ".\r\n");
            }
            c.write("0\r\n\r\n");
        });
        RawResponse r = get(port, "/steady");
        assertThat(r.status()).isEqualTo(200);
        assertThat(r.complete()).as("2.4 s in all, never 1 s of silence: upstream_read must not fire").isTrue();
        assertThat(r.body()).isEqualTo("0.1.2.3.4.5.");
    }

    @Test
    void aSlowClientIsNotMistakenForASilentOrigin() throws Exception {
        int size = 24 << 20; // more than the socket buffers on both sides hold: the proxy must pause the origin
        origin.then((c, r) -> c.write("HTTP/1.1 200 OK\r\nContent-Length: " + size + "\r\n\r\n" + "x".repeat(size)));
        try (Socket s = new Socket("127.0.0.1", port)) {
            s.setSoTimeout(20_000);
            s.getOutputStream().write("GET /big HTTP/1.1\r\nHost: shop.example\r\n\r\n"
                    .getBytes(StandardCharsets.ISO_8859_1));
            Thread.sleep(2500); // the client reads nothing for 2.5 upstream_reads
            RawResponse r = RawResponse.read(s.getInputStream(), System.nanoTime());
            assertThat(r.status()).isEqualTo(200);
            assertThat(r.complete()).as("the origin was paused by the proxy, not silent: nothing is cut").isTrue();
            assertThat(r.body()).hasSize(size);
        }
    }

    @Test
    void aStalledConnectionIsNeverReusedAndTheNextRequestIsServed() {
        origin.then(sendThenStall("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhello"));
        RawResponse r = get(port, "/mid-body");
        assertThat(r.complete()).isFalse();
        nextRequestIsClean(origin.received.get(0).connection());
    }

    @Test
    void aSilentServerIsRetriedOnAnotherServerByTheTimeoutRetryPolicy() {
        for (int i = 0; i < 2; i++) {
            RawResponse r = get(port, "/pair/x" + i);
            assertThat(r.status()).as("a timeout before any response byte is retried on the other server")
                    .isEqualTo(200);
            assertThat(r.body()).isEqualTo("from-healthy");
            assertThat(r.elapsed()).isLessThan(CUT_WITHIN);
        }
        assertThat(silent.received).as("the silent server was tried once in two requests (round robin)")
                .isNotEmpty();
    }

    @Test
    void aStallMidBodyResetsTheHttp2StreamButNotTheConnection() {
        origin.then(sendThenStall("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhello"));
        HttpClientAgent h2 = vertx.createHttpClient(new HttpClientOptions().setProtocolVersion(HttpVersion.HTTP_2)
                .setHttp2ClearTextUpgrade(false));
        long t0 = System.nanoTime();
        HttpClientResponse resp = Origin.await(h2.request(new RequestOptions().setHost("127.0.0.1").setPort(port)
                .setURI("/h2-stall")).compose(req -> req.send()));
        assertThat(resp.statusCode()).isEqualTo(200);
        assertThatThrownBy(() -> Origin.await(resp.body()))
                .as("the h2 client sees its stream reset with INTERNAL_ERROR, never a complete short body")
                .cause().isInstanceOfSatisfying(io.vertx.core.http.StreamResetException.class,
                        e -> assertThat(e.getCode()).isEqualTo(2L));
        assertThat(Duration.ofNanos(System.nanoTime() - t0)).isLessThan(CUT_WITHIN);
        assertThat(logLine("/h2-stall")).as("the reset stream is accounted for (access log, in-flight count)")
                .contains("\"upstream_statuses\":\"200,timeout\"");
        Proxies.Reply next = Proxies.get(h2, port, "/after");
        assertThat(next.status()).as("other streams of the same h2 connection carry on").isEqualTo(200);
        assertThat(next.body()).isEqualTo("fine");
    }

    // ---- over-long, malformed and trailing garbage: nothing stays on a pooled connection ----

    @Test
    void bytesBeyondContentLengthInTheSameSegmentPoisonNothing() {
        origin.then((c, r) -> c.write("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhelloEXTRA"));
        RawResponse r = get(port, "/overlong");
        assertThat(r.status()).isEqualTo(200);
        assertThat(r.body()).as("exactly the declared 5 bytes").isEqualTo("hello");
        nextRequestIsClean(origin.received.get(0).connection());
    }

    @Test
    void bytesBeyondContentLengthArrivingLaterPoisonNothing() {
        origin.then((c, r) -> c.write("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello").pause(200)
                .write("EXTRA"));
        RawResponse r = get(port, "/overlong-later");
        assertThat(r.body()).isEqualTo("hello");
        sleep(500);
        nextRequestIsClean(origin.received.get(0).connection());
    }

    @Test
    void aSmuggledSecondResponseAfterTheFirstIsNeverServedToAnyone() {
        origin.then((c, r) -> c.write("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello"
                + "HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nevil"));
        RawResponse r = get(port, "/split");
        assertThat(r.body()).isEqualTo("hello");
        nextRequestIsClean(origin.received.get(0).connection());
    }

    @Test
    void aSmuggledResponseArrivingBeforeTheNextRequestIsNeverServed() {
        origin.then((c, r) -> c.write("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello").pause(200)
                .write("HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nevil"));
        RawResponse r = get(port, "/split-later");
        assertThat(r.body()).isEqualTo("hello");
        sleep(500);
        nextRequestIsClean(origin.received.get(0).connection());
    }

    @Test
    void garbageAfterAChunkedResponsePoisonsNothing() {
        origin.then((c, r) -> c.write("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"
                + "GARBAGE"));
        RawResponse r = get(port, "/chunked-garbage");
        assertThat(r.body()).isEqualTo("hello");
        assertThat(r.complete()).isTrue();
        nextRequestIsClean(origin.received.get(0).connection());
    }

    @Test
    void aMalformedStatusLineIs502AndPoisonsNothing() {
        answersWith502("/bad-status", "an invalid response from the origin",
                "HTTP/1.1 abc Nope\r\nContent-Length: 2\r\n\r\nhi");
    }

    @Test
    void aMalformedContentLengthIs502AndPoisonsNothing() {
        answersWith502("/bad-length", "an invalid response from the origin",
                "HTTP/1.1 200 OK\r\nContent-Length: 5x\r\n\r\nhello");
    }

    @Test
    void twoDifferentContentLengthsAre502() {
        answersWith502("/two-lengths", "RFC 9112 §6.3: an unrecoverable framing error",
                "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 9\r\n\r\nhello");
    }

    @Test
    void contentLengthWithTransferEncodingIs502() {
        answersWith502("/cl-te", "a response-splitting pattern is refused, as nginx does",
                "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n"
                + "5\r\nhello\r\n0\r\n\r\n");
    }

    @Test
    void aStatusLineOfAnotherProtocolIs502() {
        answersWith502("/not-http", "an invalid response from the origin",
                "ICY 200 OK\r\nContent-Length: 2\r\n\r\nhi");
    }

    @Test
    void wellBehavedResponsesReuseTheUpstreamConnection() {
        // The baseline the poisoning cases are measured against: clean responses leave reusable connections, so
        // of LOOPS + 1 requests at least two share an event loop's pool and one connection.
        for (int i = 0; i <= LOOPS; i++) {
            assertThat(get(port, "/a" + i).body()).isEqualTo("fine");
        }
        assertThat(origin.connections.get()).as("keep-alive to the origin").isLessThanOrEqualTo(LOOPS);
    }

    @Test
    void aBodyShorterThanItsContentLengthThenCloseIsVisiblyTruncated() {
        origin.then((c, r) -> {
            c.write("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhello");
            c.close();
        });
        RawResponse r = get(port, "/short");
        assertThat(r.status()).isEqualTo(200);
        assertThat(r.complete()).as("never a complete-looking short body").isFalse();
        assertThat(r.closed()).isTrue();
        nextRequestIsClean(origin.received.get(0).connection());
    }

    @Test
    void anOriginThatClosesWithoutAnsweringGives502() {
        origin.fallback((c, r) -> c.close());
        RawResponse r = get(port, "/empty-reply");
        assertThat(r.status()).isEqualTo(502);
        origin.fallback(ScriptedOrigin.ok("fine"));
        nextRequestIsClean(-1);
    }

    @Test
    void aBodyOnAHeadResponseIsNeverReadAsTheNextResponse() {
        origin.then((c, r) -> c.write("HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nHTTP/1.1 200 OK\r\n"
                + "Content-Length: 4\r\n\r\nevil"));
        RawResponse r = RawResponse.exchange(port, "HEAD /h HTTP/1.1\r\nHost: shop.example\r\n\r\n",
                Duration.ofSeconds(10));
        assertThat(r.status()).isEqualTo(200);
        assertThat(r.header("Content-Length")).as("HEAD keeps the length of what a GET would get").isEqualTo("4");
        nextRequestIsClean(origin.received.get(0).connection());
    }

    @Test
    void aBodyOnA204IsNeverReadAsTheNextResponse() {
        origin.then((c, r) -> c.write("HTTP/1.1 204 No Content\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\n"
                + "evil"));
        RawResponse r = get(port, "/no-content");
        assertThat(r.status()).isEqualTo(204);
        assertThat(r.body()).isEmpty();
        nextRequestIsClean(origin.received.get(0).connection());
    }

    @Test
    void anOversizedResponseHeadIs502() {
        answersWith502("/big-head", "an invalid response from the origin",
                "HTTP/1.1 200 OK\r\nX-Big: " + "b".repeat(64 * 1024)
                + "\r\nContent-Length: 2\r\n\r\nhi");
    }

    @Test
    void badChunkFramingBeforeAnyBodyByteIs502() {
        answersWith502("/bad-chunk", "nothing had reached the client: it gets a status, not a broken 200",
                "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n");
    }

    @Test
    void badChunkFramingMidBodyIsVisiblyTruncated() {
        origin.then((c, r) -> c.write("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n")
                .pause(200).write("zz\r\nworld\r\n0\r\n\r\n"));
        RawResponse r = get(port, "/bad-chunk-later");
        assertThat(r.status()).isEqualTo(200);
        assertThat(r.body()).isEqualTo("hello");
        assertThat(r.complete()).isFalse();
        assertThat(r.closed()).isTrue();
        nextRequestIsClean(origin.received.get(0).connection());
    }

    @Test
    void anOriginThatClosesRightAfterTheHeadGives502() {
        origin.then((c, r) -> {
            c.write("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n");
            c.close();
        });
        RawResponse r = get(port, "/head-then-close");
        assertThat(r.status()).isEqualTo(502);
        nextRequestIsClean(origin.received.get(0).connection());
    }

    // ---- 1xx (RFC 9110 §15.2) ----

    @Test
    void earlyHintsReachAnHttp1ClientBeforeTheFinalResponse() {
        origin.then((c, r) -> c.write("HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload; as=style\r\n\r\n")
                .pause(100).write("HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\npage"));
        RawResponse r = get(port, "/hints");
        assertThat(r.interim()).as("one 103 before the final response").hasSize(1);
        assertThat(r.interim().get(0)).startsWith("HTTP/1.1 103").contains("Link: </style.css>; rel=preload");
        assertThat(r.status()).isEqualTo(200);
        assertThat(r.body()).isEqualTo("page");
    }

    @Test
    void anHttp10ClientGetsNoEarlyHints() {
        origin.then((c, r) -> c.write("HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload\r\n\r\n")
                .write("HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\npage"));
        RawResponse r = RawResponse.exchange(port, "GET /old HTTP/1.0\r\nHost: shop.example\r\n\r\n",
                Duration.ofSeconds(10));
        assertThat(r.interim()).as("RFC 9110 §15.2: no 1xx to an HTTP/1.0 client").isEmpty();
        assertThat(r.body()).isEqualTo("page");
    }

    @Test
    void earlyHintsReachAnHttp2Client() {
        origin.then((c, r) -> c.write("HTTP/1.1 103 Early Hints\r\nLink: </app.js>; rel=preload; as=script\r\n\r\n")
                .pause(100).write("HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\npage"));
        HttpClientAgent h2 = vertx.createHttpClient(new HttpClientOptions().setProtocolVersion(HttpVersion.HTTP_2)
                .setHttp2ClearTextUpgrade(false));
        List<String> hints = new CopyOnWriteArrayList<>();
        String body = Origin.await(Contexts.onContext(vertx, () -> h2.request(new RequestOptions().setHost("127.0.0.1")
                .setPort(port).setURI("/h2-hints")).compose(req -> {
                    req.earlyHintsHandler((MultiMap h) -> hints.add(h.get("Link")));
                    return req.send().compose(HttpClientResponse::body);
                }))).toString();
        assertThat(hints).as("the 103's Link reaches the h2 client")
                .containsExactly("</app.js>; rel=preload; as=script");
        assertThat(body).isEqualTo("page");
    }

    @Test
    void curlOverHttp2SeesTheEarlyHintsThenTheResponse() throws Exception {
        origin.then((c, r) -> c.write("HTTP/1.1 103 Early Hints\r\nLink: </font.woff2>; rel=preload; as=font\r\n\r\n")
                .pause(100).write("HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\npage"));
        Process curl;
        try {
            curl = new ProcessBuilder("curl", "-sS", "-v", "--http2-prior-knowledge", "--max-time", "10",
                    "http://127.0.0.1:" + port + "/curl-hints").redirectErrorStream(true).start();
        } catch (java.io.IOException e) {
            org.junit.jupiter.api.Assumptions.assumeTrue(false, "curl is not installed: " + e.getMessage());
            return;
        }
        String out = new String(curl.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(curl.waitFor(15, TimeUnit.SECONDS)).isTrue();
        assertThat(out).as("curl -v shows the 103 with its Link before the 200").containsSubsequence(
                "< HTTP/2 103", "< link: </font.woff2>; rel=preload; as=font", "< HTTP/2 200", "page");
    }

    @Test
    void processingIsNotFinalTheClientGetsTheRealResponse() {
        // 500 ms apart, 2 s in all: each 102 is a sign of life, so upstream_read (1 s) must not fire.
        origin.then((c, r) -> {
            for (int i = 0; i < 4; i++) {
                c.write("HTTP/1.1 102 Processing\r\n\r\n").pause(500);
            }
            c.write("HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\ndone");
        });
        RawResponse r = get(port, "/processing");
        assertThat(r.status()).isEqualTo(200);
        assertThat(r.body()).isEqualTo("done");
        assertThat(r.interim()).as("102 is not forwarded").isEmpty();
        nextRequestIsClean(-1);
    }

    @Test
    void anUnknown1xxIsSkippedAndEarlyHintsAroundItStillArrive() {
        origin.then((c, r) -> c.write("HTTP/1.1 199 Whatever\r\nX-A: 1\r\n\r\n"
                + "HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\n"
                + "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"));
        RawResponse r = get(port, "/unknown-1xx");
        assertThat(r.status()).isEqualTo(200);
        assertThat(r.body()).isEqualTo("ok");
        assertThat(r.interim()).hasSize(1);
        assertThat(r.interim().get(0)).startsWith("HTTP/1.1 103");
    }

    @Test
    void expectContinueGetsExactlyOne100AndTheBodyReachesTheOrigin() throws Exception {
        origin.then((c, r) -> c.write("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"));
        try (Socket s = new Socket("127.0.0.1", port)) {
            s.setSoTimeout(10_000);
            OutputStream out = s.getOutputStream();
            InputStream in = s.getInputStream();
            out.write(("POST /upload HTTP/1.1\r\nHost: shop.example\r\nContent-Length: 5\r\n"
                    + "Expect: 100-continue\r\n\r\n")
                    .getBytes(StandardCharsets.ISO_8859_1));
            out.flush();
            byte[] first = new byte[25];
            int n = in.readNBytes(first, 0, "HTTP/1.1 100 Continue\r\n\r\n".length());
            assertThat(new String(first, 0, n, StandardCharsets.ISO_8859_1)).as("the client is told to go on")
                    .isEqualTo("HTTP/1.1 100 Continue\r\n\r\n");
            out.write("hello".getBytes(StandardCharsets.ISO_8859_1));
            out.flush();
            RawResponse r = RawResponse.read(in, System.nanoTime());
            assertThat(r.interim()).as("the origin's own 100 is not forwarded a second time").isEmpty();
            assertThat(r.status()).isEqualTo(200);
            assertThat(r.body()).isEqualTo("ok");
        }
        assertThat(new String(origin.last().body(), StandardCharsets.ISO_8859_1)).isEqualTo("hello");
    }

    @Test
    void aSwitchingProtocolsAnswerToAnOrdinaryRequestIs502() {
        answersWith502("/not-an-upgrade", "101 is only valid as the answer to an upgrade",
                "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: upgrade"
                + "\r\n\r\n");
    }

    // ---- WebSocket handshakes ----

    @Test
    void aWebSocketHandshakeCarriesTheClientsHostAndForwardingHeaders() throws Exception {
        origin.then((c, r) -> {
            String accept = Base64.getEncoder().encodeToString(MessageDigest.getInstance("SHA-1").digest(
                    (r.header("Sec-WebSocket-Key") + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11")
                            .getBytes(StandardCharsets.ISO_8859_1)));
            c.write("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                    + "Sec-WebSocket-Accept: " + accept + "\r\n\r\n");
            c.stall(5000);
        });
        WebSocketClient ws = vertx.createWebSocketClient();
        WebSocket socket = Origin.await(ws.connect(new WebSocketConnectOptions().setHost("127.0.0.1").setPort(port)
                .setURI("/chat").addHeader("Host", "chat.example:8443")));
        ScriptedOrigin.Request hs = origin.last();
        assertThat(hs.header("Host")).as("the origin sees the Host the client sent, not its own address")
                .isEqualTo("chat.example:8443");
        assertThat(hs.headers("Host")).hasSize(1);
        assertThat(hs.header("X-Forwarded-For")).isEqualTo("127.0.0.1");
        assertThat(hs.header("X-Forwarded-Host")).isEqualTo("chat.example:8443");
        assertThat(hs.header("Forwarded")).contains("host=\"chat.example:8443\"");
        socket.close();
    }

    private static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
