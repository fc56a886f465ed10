package io.tiergate.proxy.forward;

import io.tiergate.proxy.ProxyNode;
import io.tiergate.proxy.support.Origin;
import io.tiergate.proxy.support.Proxies;
import io.vertx.core.Vertx;
import io.vertx.core.net.SelfSignedCertificate;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManager;
import javax.net.ssl.X509TrustManager;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.Arrays;

import static io.tiergate.proxy.forward.ProxyProtocolTest.concat;
import static io.tiergate.proxy.forward.ProxyProtocolTest.request;
import static io.tiergate.proxy.forward.ProxyProtocolTest.v1;
import static io.tiergate.proxy.forward.ProxyProtocolTest.v2;
import static io.tiergate.proxy.forward.ProxyProtocolTest.v2Tcp4;
import static io.tiergate.proxy.forward.ProxyProtocolTest.v2Tcp6;
import static io.tiergate.proxy.support.Proxies.readAll;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * PROXY protocol on TLS listeners: the header comes before the ClientHello, then the TLS handshake (certificate by SNI)
 * and HTTP. The header's address is the client exactly as on plain listeners; an untrusted peer or a missing or
 * malformed header gets the connection closed before any handshake.
 */
@Timeout(60)
class ProxyProtocolTlsTest {
    static final int N = 50;

    @TempDir
    static Path dir;
    static Vertx vertx;
    static Origin origin;
    static ProxyNode proxy;
    static Path accessLog;
    static int trusted;
    static int untrusted;
    static SSLContext trustAll;

    @BeforeAll
    static void start() throws Exception {
        vertx = io.tiergate.shared.runtime.Runtimes.vertx();
        origin = Origin.start(vertx, "origin", (o, req, body) -> req.response()
                .end("xff=" + req.getHeader("X-Forwarded-For") + " real=" + req.getHeader("X-Real-IP")
                        + " proto=" + req.getHeader("X-Forwarded-Proto")));
        accessLog = dir.resolve("access.log");
        SelfSignedCertificate a = SelfSignedCertificate.create("a.example");
        proxy = Proxies.start(vertx, """
                access_log: {format: combined, path: "%s"}
                timeouts: {client_header: 2s}
                listeners:
                  - name: tls-from-lb
                    address: 127.0.0.1:0
                    proxy_protocol: {trusted: [127.0.0.0/8]}
                    tls: {certificates: [{cert: %s, key: %s}]}
                  - name: tls-from-elsewhere
                    address: 127.0.0.1:0
                    proxy_protocol: {trusted: [10.0.0.0/8]}
                    tls: {certificates: [{cert: %s, key: %s}]}
                upstreams: {app: {servers: ["%s"]}}
                servers:
                  - default: true
                    locations:
                      - {prefix: /, upstream: app, headers: {request: {set: {X-Real-IP: $remote_addr}}}}
                """.formatted(accessLog, a.certificatePath(), a.privateKeyPath(), a.certificatePath(),
                a.privateKeyPath(), origin.address()));
        trusted = proxy.listenPorts().get(0);
        untrusted = proxy.listenPorts().get(1);
        trustAll = SSLContext.getInstance("TLS");
        trustAll.init(null, new TrustManager[] {new X509TrustManager() {
            @Override
            public void checkClientTrusted(X509Certificate[] chain, String authType) {
            }

            @Override
            public void checkServerTrusted(X509Certificate[] chain, String authType) {
            }

            @Override
            public X509Certificate[] getAcceptedIssuers() {
                return new X509Certificate[0];
            }
        }}, null);
    }

    @AfterAll
    static void stop() {
        Origin.await(proxy.shutdown(Duration.ZERO));
        origin.close();
        Origin.await(vertx.close());
    }

    /** Writes {@code header} on a plain socket, then runs TLS (SNI a.example) over it and sends {@code request}. */
    static String overTls(int port, byte[] header, byte[] request) throws IOException {
        try (Socket plain = new Socket("127.0.0.1", port)) {
            plain.setSoTimeout(5000);
            plain.setTcpNoDelay(true);
            plain.getOutputStream().write(header);
            plain.getOutputStream().flush();
            try (SSLSocket tls = (SSLSocket) trustAll.getSocketFactory().createSocket(plain, "a.example", port, true)) {
                tls.startHandshake();
                OutputStream out = tls.getOutputStream();
                out.write(request);
                out.flush();
                return readAll(tls.getInputStream());
            }
        }
    }

    @Test
    void v1HeadersNameTheClientOverTls() throws Exception {
        for (int i = 0; i < N; i++) {
            String ip = "203.0.113." + (i + 1);
            String r = overTls(trusted, v1("PROXY TCP4 " + ip + " 10.0.0.1 " + (40000 + i) + " 443"), request("/v1/" + i));
            assertThat(r).as("iteration %d", i).startsWith("HTTP/1.1 200")
                    .endsWith("xff=" + ip + " real=" + ip + " proto=https");
        }
        String r = overTls(trusted, v1("PROXY TCP6 2001:db8::7 2001:db8::1 40000 443"), request("/v1six"));
        assertThat(r).startsWith("HTTP/1.1 200").endsWith("xff=2001:db8:0:0:0:0:0:7 real=2001:db8:0:0:0:0:0:7 proto=https");
        r = overTls(trusted, v1("PROXY UNKNOWN"), request("/v1unknown"));
        assertThat(r).as("UNKNOWN: the real peer").startsWith("HTTP/1.1 200").endsWith("xff=127.0.0.1 real=127.0.0.1 proto=https");
    }

    @Test
    void v2HeadersNameTheClientOverTls() throws Exception {
        for (int i = 0; i < N; i++) {
            String r = overTls(trusted, v2Tcp4(new int[] {198, 51, 100, i + 1}, 40000 + i), request("/v2/" + i));
            assertThat(r).as("iteration %d", i).startsWith("HTTP/1.1 200")
                    .endsWith("xff=198.51.100." + (i + 1) + " real=198.51.100." + (i + 1) + " proto=https");
        }
        byte[] src = new byte[16];
        src[0] = 0x20;
        src[1] = 0x01;
        src[2] = 0x0d;
        src[3] = (byte) 0xb8;
        src[15] = 9;
        assertThat(overTls(trusted, v2Tcp6(src, 1234), request("/v2six")))
                .startsWith("HTTP/1.1 200").endsWith("xff=2001:db8:0:0:0:0:0:9 real=2001:db8:0:0:0:0:0:9 proto=https");
        assertThat(overTls(trusted, v2(0x20, 0x00, new byte[0]), request("/v2local")))
                .as("LOCAL: the real peer").startsWith("HTTP/1.1 200").endsWith("xff=127.0.0.1 real=127.0.0.1 proto=https");
    }

    @Test
    void aClientHelloInTheSameSegmentAsTheHeaderIsAnswered() throws Exception {
        SSLEngine engine = trustAll.createSSLEngine("a.example", trusted);
        engine.setUseClientMode(true);
        engine.beginHandshake();
        ByteBuffer hello = ByteBuffer.allocate(engine.getSession().getPacketBufferSize());
        engine.wrap(ByteBuffer.allocate(0), hello);
        hello.flip();
        byte[] clientHello = new byte[hello.remaining()];
        hello.get(clientHello);
        for (int i = 0; i < N; i++) {
            try (Socket s = new Socket("127.0.0.1", trusted)) {
                s.setSoTimeout(5000);
                s.getOutputStream().write(concat(v1("PROXY TCP4 192.0.2.1 10.0.0.1 5555 443"), clientHello));
                s.getOutputStream().flush();
                int first = s.getInputStream().read();
                assertThat(first).as("iteration %d: a TLS handshake record (22) answers, not a close", i).isEqualTo(22);
            }
        }
    }

    @Test
    void theAccessLogNamesTheHeaderClient() throws Exception {
        assertThat(overTls(trusted, v1("PROXY TCP4 192.0.2.202 10.0.0.1 5555 443"), request("/tls-logged")))
                .startsWith("HTTP/1.1 200");
        long deadline = System.nanoTime() + Duration.ofSeconds(5).toNanos();
        String log = "";
        while (System.nanoTime() < deadline && !log.contains("/tls-logged")) {
            Thread.sleep(50);
            log = Files.exists(accessLog) ? Files.readString(accessLog) : "";
        }
        assertThat(log.lines().filter(l -> l.contains("GET /tls-logged "))).singleElement().asString()
                .startsWith("192.0.2.202 ");
    }

    @Test
    void untrustedPeersMissingAndMalformedHeadersAreClosedBeforeTheHandshake() throws Exception {
        byte[][] refused = {
                v1("PROXY TCP4 203.0.113.7 10.0.0.1 51000 443"),
                v2Tcp4(new int[] {203, 0, 113, 8}, 1),
        };
        for (byte[] h : refused) {
            assertThat(handshakeFails(untrusted, h)).as("127.0.0.1 is not in 10.0.0.0/8: no TLS at all").isTrue();
        }
        byte[][] bad = {
                new byte[0],                                        // no header: the ClientHello itself
                v1("PROXY TCP4 example.com 10.0.0.1 1 443"),       // a name, not an address
                v2(0x31, 0x11, new byte[12]),                      // version 3
        };
        for (int i = 0; i < bad.length; i++) {
            assertThat(handshakeFails(trusted, bad[i])).as("malformed case %d", i).isTrue();
        }
        Thread.sleep(200);
        assertThat(origin.received.stream().filter(r -> r.uri().startsWith("/refused"))).isEmpty();
    }

    /** Header, then a TLS handshake and a request: true when the server closed instead of completing it. */
    static boolean handshakeFails(int port, byte[] header) throws IOException {
        try {
            String r = overTls(port, header, request("/refused"));
            return r.isEmpty();
        } catch (javax.net.ssl.SSLException | java.net.SocketException e) {
            return true;
        }
    }

    @Test
    void anIncompleteHeaderIsClosedByTheClientHeaderTimeout() throws Exception {
        try (Socket s = new Socket("127.0.0.1", trusted)) {
            s.setSoTimeout(10_000);
            byte[] h = v2Tcp4(new int[] {198, 51, 100, 1}, 1);
            s.getOutputStream().write(Arrays.copyOf(h, h.length - 3));
            s.getOutputStream().flush();
            long t0 = System.nanoTime();
            InputStream in = s.getInputStream();
            assertThat(readAll(in)).isEmpty();
            assertThat(Duration.ofNanos(System.nanoTime() - t0)).as("closed by client_header (2s)")
                    .isBetween(Duration.ofMillis(1000), Duration.ofMillis(8000));
        }
    }
}
