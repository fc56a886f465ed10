package io.tiergate.proxy.forward;

import io.tiergate.proxy.ProxyNode;
import io.tiergate.proxy.config.ProxyConfig;
import io.tiergate.proxy.support.Origin;
import io.tiergate.proxy.support.Proxies;
import io.tiergate.shared.config.ConfigMap;
import io.tiergate.shared.config.Problems;
import io.tiergate.shared.config.YamlLoader;
import io.vertx.core.Vertx;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;

import static io.tiergate.proxy.support.Proxies.readAll;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * PROXY protocol v1 and v2 on a listener, through raw sockets on 127.0.0.1. The header and the request go in ONE write
 * (so they share a TCP segment — the case the earlier Vert.x-based attempt lost requests in) and in separate writes,
 * many times over. From a trusted source the header's address is the client (X-Forwarded-For, $remote_addr, access
 * log); from anyone else, or with a malformed header, the connection is closed without an answer and nothing reaches
 * the origin.
 */
@Timeout(120)
class ProxyProtocolTest {
    static final int N = 200;
    static final byte[] V2_SIG = {0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A};

    @TempDir
    static Path dir;
    static Vertx vertx;
    static Origin origin;
    static ProxyNode proxy;
    static Path accessLog;
    static int trusted;
    static int untrusted;
    static int plain;

    @BeforeAll
    static void start() {
        vertx = io.tiergate.shared.runtime.Runtimes.vertx();
        origin = Origin.start(vertx, "origin", (o, req, body) -> req.response()
                .end("xff=" + req.getHeader("X-Forwarded-For") + " real=" + req.getHeader("X-Real-IP")));
        accessLog = dir.resolve("access.log");
        proxy = Proxies.start(vertx, """
                access_log: {format: combined, path: "%s"}
                timeouts: {client_header: 2s}
                listeners:
                  - {name: from-lb, address: 127.0.0.1:0, proxy_protocol: {trusted: [127.0.0.0/8]}}
                  - {name: from-elsewhere, address: 127.0.0.1:0, proxy_protocol: {trusted: [10.0.0.0/8, "::1"]}}
                  - {name: plain, address: 127.0.0.1:0}
                upstreams: {app: {servers: ["%s"]}}
                servers:
                  - default: true
                    locations:
                      - {prefix: /, upstream: app, headers: {request: {set: {X-Real-IP: $remote_addr}}}}
                """.formatted(accessLog, origin.address()));
        trusted = proxy.listenPorts().get(0);
        untrusted = proxy.listenPorts().get(1);
        plain = proxy.listenPorts().get(2);
    }

    @AfterAll
    static void stop() {
        Origin.await(proxy.shutdown(Duration.ZERO));
        Origin.await(vertx.close());
    }

    // ---- helpers ----

    static byte[] request(String uri) {
        return ("GET " + uri + " HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n").getBytes(StandardCharsets.ISO_8859_1);
    }

    static byte[] v1(String line) {
        return (line + "\r\n").getBytes(StandardCharsets.US_ASCII);
    }

    static byte[] v2(int verCmd, int fam, byte[] addresses) {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        b.writeBytes(V2_SIG);
        b.write(verCmd);
        b.write(fam);
        b.write(addresses.length >> 8);
        b.write(addresses.length & 0xff);
        b.writeBytes(addresses);
        return b.toByteArray();
    }

    static byte[] v2Tcp4(int[] src, int srcPort, byte... tlvs) {
        ByteArrayOutputStream a = new ByteArrayOutputStream();
        for (int x : src) {
            a.write(x);
        }
        a.writeBytes(new byte[] {10, 0, 0, 1});
        a.write(srcPort >> 8);
        a.write(srcPort & 0xff);
        a.write(0);
        a.write(80);
        a.writeBytes(tlvs);
        return v2(0x21, 0x11, a.toByteArray());
    }

    static byte[] v2Tcp6(byte[] src16, int srcPort) {
        ByteArrayOutputStream a = new ByteArrayOutputStream();
        a.writeBytes(src16);
        a.writeBytes(new byte[16]);
        a.write(srcPort >> 8);
        a.write(srcPort & 0xff);
        a.write(0);
        a.write(80);
        return v2(0x21, 0x21, a.toByteArray());
    }

    static byte[] concat(byte[] a, byte[] b) {
        ByteArrayOutputStream o = new ByteArrayOutputStream();
        o.writeBytes(a);
        o.writeBytes(b);
        return o.toByteArray();
    }

    /** Header and request in one write() — one TCP segment on loopback. */
    static String oneWrite(int port, byte[] header, byte[] request) throws IOException {
        return exchange(port, concat(header, request));
    }

    static String exchange(int port, byte[]... writes) throws IOException {
        try (Socket s = new Socket("127.0.0.1", port)) {
            s.setSoTimeout(5000);
            s.setTcpNoDelay(true);
            OutputStream out = s.getOutputStream();
            for (int i = 0; i < writes.length; i++) {
                out.write(writes[i]);
                out.flush();
                if (i + 1 < writes.length) {
                    sleep(3);
                }
            }
            return readAll(s.getInputStream());
        }
    }

    static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    static String ip4(int i) {
        return "203.0.113." + (i % 250 + 1);
    }

    static long originHits(String uriPrefix) {
        return origin.received.stream().filter(r -> r.uri().startsWith(uriPrefix)).count();
    }

    // ---- trusted source: the header names the client ----

    @Test
    void v1Tcp4CoalescedWithTheRequestIsServedEveryTime() throws Exception {
        for (int i = 0; i < N; i++) {
            String r = oneWrite(trusted, v1("PROXY TCP4 " + ip4(i) + " 10.0.0.1 " + (40000 + i) + " 80"), request("/v1c/" + i));
            assertThat(r).as("iteration %d", i).startsWith("HTTP/1.1 200")
                    .endsWith("xff=" + ip4(i) + " real=" + ip4(i));
        }
    }

    @Test
    void v1Tcp4InSeparateWritesIsServedEveryTime() throws Exception {
        for (int i = 0; i < N; i++) {
            String r = exchange(trusted, v1("PROXY TCP4 " + ip4(i) + " 10.0.0.1 51000 80"), request("/v1s/" + i));
            assertThat(r).as("iteration %d", i).startsWith("HTTP/1.1 200").endsWith("xff=" + ip4(i) + " real=" + ip4(i));
        }
    }

    @Test
    void v1Tcp6AndUnknown() throws Exception {
        for (int i = 0; i < N; i++) {
            String r = oneWrite(trusted, v1("PROXY TCP6 2001:db8::" + Integer.toHexString(i + 1) + " 2001:db8::ffff 40000 443"),
                    request("/v1six/" + i));
            assertThat(r).as("iteration %d", i).startsWith("HTTP/1.1 200")
                    .endsWith("xff=2001:db8:0:0:0:0:0:" + Integer.toHexString(i + 1) + " real=2001:db8:0:0:0:0:0:" + Integer.toHexString(i + 1));
        }
        String r = oneWrite(trusted, v1("PROXY UNKNOWN"), request("/v1unknown"));
        assertThat(r).as("UNKNOWN: the real peer stands for the client").startsWith("HTTP/1.1 200")
                .endsWith("xff=127.0.0.1 real=127.0.0.1");
    }

    @Test
    void v2Tcp4CoalescedWithTheRequestIsServedEveryTime() throws Exception {
        for (int i = 0; i < N; i++) {
            String r = oneWrite(trusted, v2Tcp4(new int[] {198, 51, 100, i % 250 + 1}, 40000 + i), request("/v2c/" + i));
            assertThat(r).as("iteration %d", i).startsWith("HTTP/1.1 200")
                    .endsWith("xff=198.51.100." + (i % 250 + 1) + " real=198.51.100." + (i % 250 + 1));
        }
    }

    @Test
    void v2Tcp4InSeparateWritesAndByteByByte() throws Exception {
        for (int i = 0; i < N; i++) {
            String r = exchange(trusted, v2Tcp4(new int[] {198, 51, 100, 9}, 40000), request("/v2s/" + i));
            assertThat(r).as("iteration %d", i).startsWith("HTTP/1.1 200").endsWith("xff=198.51.100.9 real=198.51.100.9");
        }
        byte[] h = v2Tcp4(new int[] {198, 51, 100, 10}, 40000);
        byte[][] writes = new byte[h.length + 1][];
        for (int i = 0; i < h.length; i++) {
            writes[i] = new byte[] {h[i]};
        }
        writes[h.length] = request("/v2bytes");
        assertThat(exchange(trusted, writes)).startsWith("HTTP/1.1 200").endsWith("xff=198.51.100.10 real=198.51.100.10");
    }

    @Test
    void v2Tcp6CoalescedWithTheRequestIsServedEveryTime() throws Exception {
        for (int i = 0; i < N; i++) {
            byte[] src = new byte[16];
            src[0] = 0x20;
            src[1] = 0x01;
            src[2] = 0x0d;
            src[3] = (byte) 0xb8;
            src[15] = (byte) (i + 1);
            String r = oneWrite(trusted, v2Tcp6(src, 40000 + i), request("/v2six/" + i));
            String ip = "2001:db8:0:0:0:0:0:" + Integer.toHexString((i + 1) & 0xff);
            assertThat(r).as("iteration %d", i).startsWith("HTTP/1.1 200").endsWith("xff=" + ip + " real=" + ip);
        }
    }

    @Test
    void v2LocalUsesTheRealPeerAndTlvsAreSkipped() throws Exception {
        for (int i = 0; i < N; i++) {
            String r = oneWrite(trusted, v2(0x20, 0x00, new byte[0]), request("/v2local/" + i));
            assertThat(r).as("LOCAL, iteration %d", i).startsWith("HTTP/1.1 200").endsWith("xff=127.0.0.1 real=127.0.0.1");
        }
        // LOCAL with an address block (some balancers send one): still the real peer
        String r = oneWrite(trusted, v2(0x20, 0x11, new byte[12]), request("/v2local-addr"));
        assertThat(r).startsWith("HTTP/1.1 200").endsWith("xff=127.0.0.1 real=127.0.0.1");
        // TCP4 followed by TLVs (PP2_TYPE_AUTHORITY "lb", PP2_TYPE_NOOP)
        byte[] tlvs = {0x02, 0x00, 0x02, 'l', 'b', 0x04, 0x00, 0x03, 0, 0, 0};
        r = oneWrite(trusted, v2Tcp4(new int[] {192, 0, 2, 44}, 1234, tlvs), request("/v2tlv"));
        assertThat(r).startsWith("HTTP/1.1 200").endsWith("xff=192.0.2.44 real=192.0.2.44");
    }

    @Test
    void keepAliveRequestsAfterTheHeaderAllCarryTheClient() throws Exception {
        try (Socket s = new Socket("127.0.0.1", trusted)) {
            s.setSoTimeout(5000);
            OutputStream out = s.getOutputStream();
            byte[] keep = "GET /ka/1 HTTP/1.1\r\nHost: a\r\n\r\n".getBytes(StandardCharsets.ISO_8859_1);
            out.write(concat(concat(v1("PROXY TCP4 192.0.2.77 10.0.0.1 5555 80"), keep), request("/ka/2")));
            out.flush();
            String r = readAll(s.getInputStream());
            assertThat(r.split("HTTP/1.1 200", -1)).as("two pipelined responses").hasSize(3);
            assertThat(r.split("xff=192.0.2.77 real=192.0.2.77", -1)).hasSize(3);
        }
    }

    @Test
    void theAccessLogNamesTheHeaderClient() throws Exception {
        String r = oneWrite(trusted, v1("PROXY TCP4 192.0.2.201 10.0.0.1 5555 80"), request("/logged"));
        assertThat(r).startsWith("HTTP/1.1 200");
        long deadline = System.nanoTime() + Duration.ofSeconds(5).toNanos();
        String log = "";
        while (System.nanoTime() < deadline && !log.contains("/logged")) {
            sleep(50);
            log = Files.exists(accessLog) ? Files.readString(accessLog) : "";
        }
        assertThat(log.lines().filter(l -> l.contains("GET /logged ")))
                .singleElement().asString().startsWith("192.0.2.201 ");
    }

    // ---- refused: untrusted peer, malformed header ----

    @Test
    void aPeerOutsideTheTrustedSourcesIsNeverServedEvenWithTheRequestInTheFirstSegment() throws Exception {
        for (int i = 0; i < N; i++) {
            String r = oneWrite(untrusted, v1("PROXY TCP4 203.0.113.7 10.0.0.1 51000 80"), request("/untrusted/" + i));
            assertThat(r).as("127.0.0.1 is not in 10.0.0.0/8: no answer at all (iteration %d)", i).isEmpty();
            r = oneWrite(untrusted, v2Tcp4(new int[] {203, 0, 113, 8}, 1), request("/untrusted/v2/" + i));
            assertThat(r).as("v2, iteration %d", i).isEmpty();
        }
        sleep(200);
        assertThat(originHits("/untrusted")).as("nothing reached the origin").isZero();
    }

    @Test
    void refusedPeersAreLoggedOnceAMinutePerPeerNotPerConnection() throws Exception {
        ch.qos.logback.classic.Logger logger = (ch.qos.logback.classic.Logger) org.slf4j.LoggerFactory
                .getLogger(io.tiergate.proxy.ProxyProtocol.class);
        ch.qos.logback.core.read.ListAppender<ch.qos.logback.classic.spi.ILoggingEvent> logs =
                new ch.qos.logback.core.read.ListAppender<>();
        logs.start();
        logger.addAppender(logs);
        try {
            // From a loopback address no other test uses, so the per-peer memory starts empty for it.
            for (int i = 0; i < 20; i++) {
                try (Socket s = new Socket()) {
                    s.bind(new java.net.InetSocketAddress("127.0.0.77", 0));
                    s.connect(new java.net.InetSocketAddress("127.0.0.1", untrusted), 5000);
                    s.setSoTimeout(5000);
                    s.getOutputStream().write(concat(v1("PROXY TCP4 203.0.113.7 10.0.0.1 51000 80"), request("/r")));
                    assertThat(readAll(s.getInputStream())).isEmpty();
                }
            }
            sleep(200);
            assertThat(logs.list).extracting(ch.qos.logback.classic.spi.ILoggingEvent::getFormattedMessage)
                    .filteredOn(m -> m.contains("127.0.0.77"))
                    .as("20 refused connections, one WARN naming the peer and why")
                    .singleElement().asString().contains("not in proxy_protocol.trusted");
            assertThat(logs.list).allMatch(e -> e.getLevel() == ch.qos.logback.classic.Level.WARN);
        } finally {
            logger.detachAppender(logs);
        }
    }

    @Test
    void aMalformedOrMissingHeaderClosesTheConnection() throws Exception {
        byte[][] bad = {
                new byte[0],                                                        // no header: the request itself
                v1("PROXY TCP4 example.com 10.0.0.1 1 80"),                          // a name, not an address
                v1("PROXY TCP4 203.0.113.7 10.0.0.1 70000 80"),                      // port out of range
                v1("PROXY TCP6 203.0.113.7 10.0.0.1 1 80"),                          // v4 address under TCP6
                v1("PROXY TCP4 203.0.113.7 10.0.0.1 1"),                             // missing field
                "PROXY TCP4 203.0.113.7 10.0.0.1 1 80\n".getBytes(StandardCharsets.US_ASCII), // LF only
                v2(0x31, 0x11, new byte[12]),                                        // version 3
                v2(0x21, 0x12, new byte[12]),                                        // UDP
                v2(0x21, 0x11, new byte[4]),                                         // short TCP4 block
                v2(0x21, 0x31, new byte[216]),                                       // AF_UNIX
        };
        for (int round = 0; round < 20; round++) {
            for (int i = 0; i < bad.length; i++) {
                String r = oneWrite(trusted, bad[i], request("/malformed/" + i));
                assertThat(r).as("case %d, round %d: closed unanswered", i, round).isEmpty();
            }
        }
        // a v1 line that never ends within 107 bytes
        String r = exchange(trusted, ("PROXY TCP4 " + "1".repeat(120)).getBytes(StandardCharsets.US_ASCII));
        assertThat(r).isEmpty();
        sleep(200);
        assertThat(originHits("/malformed")).isZero();
    }

    @Test
    void anIncompleteHeaderIsClosedByTheClientHeaderTimeout() throws Exception {
        try (Socket s = new Socket("127.0.0.1", trusted)) {
            s.setSoTimeout(10_000);
            s.getOutputStream().write("PROXY TCP4 203.0.".getBytes(StandardCharsets.US_ASCII));
            s.getOutputStream().flush();
            long t0 = System.nanoTime();
            assertThat(readAll(s.getInputStream())).isEmpty();
            assertThat(Duration.ofNanos(System.nanoTime() - t0)).as("closed by client_header (2s)")
                    .isBetween(Duration.ofMillis(1000), Duration.ofMillis(8000));
        }
    }

    // ---- without the key: as before ----

    @Test
    void aListenerWithoutTheKeyDoesNotParsePROXYHeaders() throws Exception {
        String r = exchange(plain, request("/plain"));
        assertThat(r).startsWith("HTTP/1.1 200").endsWith("xff=127.0.0.1 real=127.0.0.1");
        r = oneWrite(plain, v1("PROXY TCP4 203.0.113.7 10.0.0.1 51000 80"), request("/plain-pp"));
        assertThat(r).as("a PROXY line is not HTTP: not served").doesNotContain("xff=203.0.113.7");
    }

    @Test
    void configErrors() {
        assertThat(problems("""
                listeners: [{address: 127.0.0.1:0, proxy_protocol: {trusted: []}}]
                upstreams: {app: {servers: ["127.0.0.1:1"]}}
                servers: [{default: true, locations: [{prefix: /, upstream: app}]}]
                """)).contains("no trusted sources");
        assertThat(problems("""
                listeners: [{address: 127.0.0.1:0, proxy_protocol: {trusted: [not-a-cidr]}}]
                upstreams: {app: {servers: ["127.0.0.1:1"]}}
                servers: [{default: true, locations: [{prefix: /, upstream: app}]}]
                """)).contains("not-a-cidr");
        assertThat(problems("""
                listeners: [{address: 127.0.0.1:0, proxy_protocol: {trusted: [10.0.0.0/8], from: x}}]
                upstreams: {app: {servers: ["127.0.0.1:1"]}}
                servers: [{default: true, locations: [{prefix: /, upstream: app}]}]
                """)).contains("from");
        ProxyConfig ok = Proxies.config("""
                listeners: [{address: 127.0.0.1:0, proxy_protocol: {trusted: [10.0.0.0/8, "fd00::/8"]}}]
                upstreams: {app: {servers: ["127.0.0.1:1"]}}
                servers: [{default: true, locations: [{prefix: /, upstream: app}]}]
                """);
        assertThat(ok.listeners().get(0).proxyProtocol().trusts("10.1.2.3")).isTrue();
        assertThat(ok.listeners().get(0).proxyProtocol().trusts("127.0.0.1")).isFalse();
    }

    static String problems(String yaml) {
        Problems problems = new Problems();
        ProxyConfig.parse(ConfigMap.of(YamlLoader.parse("test.yaml", yaml), problems));
        return problems.format();
    }
}
