package io.tiergate.proxy.forward;

import io.tiergate.proxy.ProxyNode;
import io.tiergate.proxy.support.Origin;
import io.tiergate.proxy.support.Proxies;
import io.tiergate.shared.Contexts;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpClientAgent;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpVersion;
import io.vertx.core.http.RequestOptions;
import io.vertx.core.net.SelfSignedCertificate;
import io.vertx.core.net.SocketAddress;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.security.cert.X509Certificate;
import java.time.Duration;

import static org.assertj.core.api.Assertions.assertThat;

/** HTTPS listeners from PEM files: the certificate is chosen by SNI, HTTP/2 is offered by ALPN, HTTP/1.1 still works. */
@Timeout(30)
class TlsTest {
    static Vertx vertx;
    static Origin origin;
    static ProxyNode proxy;
    static int port;

    @BeforeAll
    static void start() {
        vertx = io.tiergate.shared.runtime.Runtimes.vertx();
        origin = Origin.start(vertx, "origin", (o, req, body) -> req.response()
                .end("proto=" + req.getHeader("X-Forwarded-Proto") + " host=" + req.getHeader("X-Forwarded-Host")
                        + " via=" + req.getHeader("Via")));
        SelfSignedCertificate a = SelfSignedCertificate.create("a.example");
        SelfSignedCertificate b = SelfSignedCertificate.create("b.example");
        proxy = Proxies.start(vertx, """
                node_name: edge
                access_log: {format: off}
                listeners:
                  - address: 127.0.0.1:0
                    tls:
                      certificates:
                        - {cert: %s, key: %s}
                        - {cert: %s, key: %s}
                upstreams: {app: {servers: ["%s"]}}
                servers: [{default: true, locations: [{prefix: /, upstream: app}]}]
                """.formatted(a.certificatePath(), a.privateKeyPath(), b.certificatePath(), b.privateKeyPath(),
                origin.address()));
        port = proxy.listenPorts().get(0);
    }

    @AfterAll
    static void stop() {
        Origin.await(proxy.shutdown(Duration.ZERO));
        Origin.await(vertx.close());
    }

    private record Seen(HttpVersion version, String certName, String body) {
    }

    private static Seen call(HttpVersion version, String serverName) {
        HttpClientAgent c = vertx.createHttpClient(new HttpClientOptions().setSsl(true).setTrustAll(true)
                .setVerifyHost(false).setUseAlpn(true).setProtocolVersion(version));
        try {
            return Origin.await(Contexts.onContext(vertx, () -> c.request(new RequestOptions().setMethod(HttpMethod.GET)
                    .setHost(serverName)
                    .setPort(port).setServer(SocketAddress.inetSocketAddress(port, "127.0.0.1")).setURI("/x"))
                    .compose(req -> req.send().compose(resp -> resp.body().map(body -> {
                        String cn;
                        try {
                            cn = ((X509Certificate) resp.request().connection().peerCertificates().get(0))
                                    .getSubjectX500Principal().getName();
                        } catch (Exception e) {
                            cn = "error: " + e;
                        }
                        return new Seen(resp.version(), cn, body.toString());
                    })))));
        } finally {
            c.close();
        }
    }

    @Test
    void theCertificateIsChosenBySniName() {
        assertThat(call(HttpVersion.HTTP_1_1, "a.example").certName()).as("SNI a.example").contains("CN=a.example");
        assertThat(call(HttpVersion.HTTP_1_1, "b.example").certName()).as("SNI b.example").contains("CN=b.example");
    }

    @Test
    void http2IsNegotiatedByAlpnAndProxiedToAnHttp1Origin() {
        Seen s = call(HttpVersion.HTTP_2, "b.example");
        assertThat(s.version()).as("ALPN chose h2").isEqualTo(HttpVersion.HTTP_2);
        assertThat(s.body()).as("forwarded with the client's scheme and authority, Via names HTTP/2")
                .isEqualTo("proto=https host=b.example:" + port + " via=2 edge");
    }

    @Test
    void http11OverTlsStillWorks() {
        Seen s = call(HttpVersion.HTTP_1_1, "a.example");
        assertThat(s.version()).isEqualTo(HttpVersion.HTTP_1_1);
        assertThat(s.body()).startsWith("proto=https host=a.example:" + port);
    }
}
