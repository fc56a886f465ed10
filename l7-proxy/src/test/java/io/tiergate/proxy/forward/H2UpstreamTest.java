package io.tiergate.proxy.forward;

import io.tiergate.proxy.ProxyNode;
import io.tiergate.proxy.support.Origin;
import io.tiergate.proxy.support.Proxies;
import io.tiergate.proxy.support.TestPki;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpClientAgent;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.net.PemKeyCertOptions;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Duration;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * HTTP/2 to upstreams: {@code protocol: h2} negotiates h2 by ALPN over verified TLS; response trailers reach an
 * HTTP/1.1 client in its chunked body only when it sent {@code TE: trailers}, and are dropped otherwise.
 */
@Timeout(60)
class H2UpstreamTest {
    static Vertx vertx;
    static HttpClientAgent client;
    static Origin tlsOrigin;
    static Origin h2cOrigin;
    static ProxyNode proxy;
    static int port;

    @TempDir
    static Path dir;

    @BeforeAll
    static void start() {
        vertx = io.tiergate.shared.runtime.Runtimes.vertx();
        client = vertx.createHttpClient();
        TestPki ca = TestPki.create(dir, "ca");
        TestPki.Issued cert = ca.server("h2.origin.test");
        tlsOrigin = Origin.start(vertx, "tls", new HttpServerOptions().setSsl(true).setUseAlpn(true)
                        .setKeyCertOptions(new PemKeyCertOptions().setCertPath(cert.cert().toString())
                                .setKeyPath(cert.key().toString())),
                (o, req, body) -> req.response().end("version=" + req.version()));
        h2cOrigin = Origin.start(vertx, "h2c", new HttpServerOptions().setHttp2ClearTextEnabled(true),
                (o, req, body) -> {
                    req.response().setChunked(true).write("body;");
                    req.response().trailers().set("X-Checksum", "abc123");
                    req.response().end("version=" + req.version());
                });
        proxy = Proxies.start(vertx, """
                access_log: {format: off}
                listeners: [{address: 127.0.0.1:0}]
                upstreams:
                  secure: {servers: ["%s"], protocol: h2, tls: {ca: %s, server_name: h2.origin.test}}
                  clear: {servers: ["%s"], protocol: h2c}
                servers:
                  - default: true
                    locations:
                      - {prefix: /secure, upstream: secure}
                      - {prefix: /, upstream: clear}
                """.formatted(tlsOrigin.address(), ca.caPem(), h2cOrigin.address()));
        port = proxy.listenPorts().get(0);
    }

    @AfterAll
    static void stop() {
        Origin.await(proxy.shutdown(Duration.ZERO));
        Origin.await(vertx.close());
    }

    @Test
    void h2OverTlsIsNegotiatedByAlpn() {
        Proxies.Reply r = Proxies.get(client, port, "/secure");
        assertThat(r.status()).isEqualTo(200);
        assertThat(r.body()).isEqualTo("version=HTTP_2");
    }

    @Test
    void h2cSpeaksHttp2WithPriorKnowledge() {
        assertThat(Proxies.get(client, port, "/x").body()).isEqualTo("body;version=HTTP_2");
    }

    @Test
    void trailersReachAnHttp11ClientThatAsksForThem() {
        String raw = Proxies.raw(port, "GET /x HTTP/1.1\r\nHost: a\r\nTE: trailers\r\nConnection: close\r\n\r\n");
        assertThat(raw).containsIgnoringCase("Transfer-Encoding: chunked")
                .containsIgnoringCase("\r\n0\r\nx-checksum: abc123\r\n");
    }

    @Test
    void trailersAreDroppedForAnHttp11ClientThatDidNotAsk() {
        String raw = Proxies.raw(port, "GET /x HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n");
        assertThat(raw).contains("body;version=HTTP_2").doesNotContainIgnoringCase("abc123");
    }
}
