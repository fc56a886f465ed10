package io.tiergate.proxy.forward;

import io.tiergate.proxy.ProxyNode;
import io.tiergate.proxy.support.Origin;
import io.tiergate.proxy.support.Proxies;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpClientAgent;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;

import static io.tiergate.proxy.support.Proxies.raw;
import static org.assertj.core.api.Assertions.assertThat;

/** Framing, limits, timeouts and header rewriting, driven through raw sockets where clients would refuse. */
@Timeout(30)
class HygieneTest {
    static Vertx vertx;
    static Origin origin;
    static ProxyNode proxy;
    static int port;
    static HttpClientAgent client;

    @BeforeAll
    static void start() {
        vertx = io.tiergate.shared.runtime.Runtimes.vertx();
        client = vertx.createHttpClient();
        origin = Origin.start(vertx, "origin", (o, req, body) -> req.response()
                .putHeader("Connection", "X-Internal")
                .putHeader("X-Internal", "secret")
                .putHeader("Keep-Alive", "timeout=5")
                .end("got " + body.length()));
        proxy = Proxies.start(vertx, """
                node_name: edge-7
                add_node_header: X-Tiergate-Node
                access_log: {format: off}
                listeners: [{address: 127.0.0.1:0}]
                timeouts: {client_header: 500ms, client_body: 500ms, keepalive: 700ms}
                limits: {max_uri_length: 1k, max_header_size: 4k, max_body_size: 1k}
                forwarding: {trusted_proxies: [10.0.0.0/8]}
                upstreams: {app: {servers: [{address: %s}]}}
                servers: [{default: true, locations: [{prefix: /, upstream: app}]}]
                """.formatted(origin.address()));
        port = proxy.listenPorts().get(0);
    }

    @AfterAll
    static void stop() {
        Origin.await(proxy.shutdown(Duration.ofSeconds(1)));
        origin.close();
        Origin.await(vertx.close());
    }

    static String status(String response) {
        return response.isEmpty() ? "(connection closed, no response)" : response.substring(0, response.indexOf('\r'));
    }

    @Test
    void contentLengthTogetherWithTransferEncodingIs400() {
        String r = raw(port, "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n"
                + "0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: a\r\n\r\n");
        assertThat(status(r)).as("CL + TE is the classic smuggling pattern: reject").startsWith("HTTP/1.1 400");
        assertThat(r).as("the smuggled second request must never be answered").doesNotContain("HTTP/1.1 200");
    }

    @Test
    void duplicateOrMalformedContentLengthIs400() {
        assertThat(status(raw(port, "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\nabc")))
                .as("two Content-Length headers").startsWith("HTTP/1.1 400");
        assertThat(status(raw(port, "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3, 4\r\n\r\nabc")))
                .as("a list in Content-Length").startsWith("HTTP/1.1 400");
        assertThat(status(raw(port, "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\nabc")))
                .as("a negative Content-Length").startsWith("HTTP/1.1 400");
    }

    @Test
    void badChunkFramingIs400AndNeverReachesTheOrigin() {
        int before = origin.hits.get();
        String r = raw(port, "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n");
        assertThat(status(r)).as("a chunk size that is not hex").startsWith("HTTP/1.1 400");
        assertThat(status(raw(port, "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n")))
                .as("a transfer coding other than chunked").startsWith("HTTP/1.1 400");
        assertThat(origin.hits.get()).isEqualTo(before);
    }

    @Test
    void limitsGive414And431And413() {
        assertThat(status(raw(port, "GET /" + "a".repeat(2000) + " HTTP/1.1\r\nHost: a\r\n\r\n")))
                .as("a URI over max_uri_length").contains(" 414 ");
        assertThat(status(raw(port, "GET / HTTP/1.1\r\nHost: a\r\nX-Big: " + "b".repeat(5000) + "\r\n\r\n")))
                .as("headers over max_header_size").startsWith("HTTP/1.1 431");
        assertThat(status(raw(port, "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5000\r\n\r\n")))
                .as("a declared body over max_body_size, refused before reading it").startsWith("HTTP/1.1 413");
        String chunk = Integer.toHexString(2000) + "\r\n" + "c".repeat(2000) + "\r\n0\r\n\r\n";
        assertThat(status(raw(port, "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n" + chunk)))
                .as("a chunked body that grows over max_body_size").startsWith("HTTP/1.1 413");
    }

    @Test
    void anIdleKeepAliveConnectionIsClosedAfterKeepaliveButNotDuringARequest() throws Exception {
        try (Socket s = new Socket("127.0.0.1", port)) {
            s.setSoTimeout(5000);
            OutputStream out = s.getOutputStream();
            InputStream in = s.getInputStream();
            out.write("GET /a HTTP/1.1\r\nHost: a\r\n\r\n".getBytes(StandardCharsets.ISO_8859_1));
            String first = readResponse(in);
            assertThat(first).as("first response on the kept-alive connection").startsWith("HTTP/1.1 200");
            Thread.sleep(300); // well inside keepalive (700ms): the connection is still usable
            out.write("GET /b HTTP/1.1\r\nHost: a\r\n\r\n".getBytes(StandardCharsets.ISO_8859_1));
            assertThat(readResponse(in)).as("second request within keepalive").startsWith("HTTP/1.1 200");
            long t0 = System.nanoTime();
            int read;
            try {
                read = in.read();
            } catch (java.net.SocketException e) {
                read = -1;
            }
            assertThat(read).as("the proxy closes a connection idle for longer than keepalive").isEqualTo(-1);
            assertThat(Duration.ofNanos(System.nanoTime() - t0)).as("closed after about keepalive (700ms)")
                    .isBetween(Duration.ofMillis(400), Duration.ofMillis(3000));
        }
    }

    /** Reads one response with a Content-Length body. */
    private static String readResponse(InputStream in) throws java.io.IOException {
        StringBuilder sb = new StringBuilder();
        while (!sb.toString().contains("\r\n\r\n")) {
            int c = in.read();
            if (c < 0) {
                return sb.toString();
            }
            sb.append((char) c);
        }
        var m = java.util.regex.Pattern.compile("(?i)content-length: *(\\d+)").matcher(sb);
        int len = m.find() ? Integer.parseInt(m.group(1)) : 0;
        for (int i = 0; i < len; i++) {
            sb.append((char) in.read());
        }
        return sb.toString();
    }

    @Test
    void aClientTricklingItsHeadersIsDisconnected() {
        // The listener has h2c on (the default): Vert.x sees the connection only once the head is complete.
        assertThat(Proxies.trickleHead(port)).as("closed at about client_header (500ms), not after 3 s of trickling")
                .isLessThan(Duration.ofMillis(2500));
    }

    @Test
    void aClientThatStopsSendingItsBodyGets408() {
        String r = raw(port, "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 100\r\n\r\nonly-a-part");
        assertThat(status(r)).as("a body that stalls longer than client_body").startsWith("HTTP/1.1 408");
    }

    @Test
    void hopByHopHeadersAreStrippedAndForwardingHeadersAdded() {
        var r = Proxies.get(client, port, "/h", "Connection", "X-Drop-Me", "X-Drop-Me", "1",
                "X-Forwarded-For", "6.6.6.6", "Forwarded", "for=6.6.6.6", "Via", "1.1 client-proxy");
        assertThat(r.status()).isEqualTo(200);
        var h = origin.last().headers();
        assertThat(h.get("X-Drop-Me")).as("a header named in Connection is hop-by-hop and must not be forwarded").isNull();
        assertThat(h.get("X-Forwarded-For")).as("an untrusted client's X-Forwarded-For is replaced, not trusted")
                .isEqualTo("127.0.0.1");
        assertThat(h.get("Forwarded")).isEqualTo("for=127.0.0.1;proto=http;host=\"127.0.0.1:" + port + "\"");
        assertThat(h.get("X-Forwarded-Proto")).isEqualTo("http");
        assertThat(h.get("X-Forwarded-Host")).isEqualTo("127.0.0.1:" + port);
        assertThat(h.get("Via")).isEqualTo("1.1 client-proxy, 1.1 edge-7");
        assertThat(h.get("X-Request-Id")).as("a request id is generated").hasSize(32);
        assertThat(r.headers().get("X-Request-Id")).as("and echoed to the client").isEqualTo(h.get("X-Request-Id"));
        assertThat(r.headers().get("X-Internal")).as("the origin's Connection-named header is dropped too").isNull();
        assertThat(r.headers().get("Keep-Alive")).isNull();
        assertThat(r.headers().get("X-Tiergate-Node")).isEqualTo("edge-7");
        assertThat(r.headers().get("Via")).isEqualTo("1.1 edge-7");
    }
}
