package io.tiergate.proxy.tls;

import io.tiergate.proxy.ProxyNode;
import io.tiergate.proxy.support.Origin;
import io.tiergate.proxy.support.Proxies;
import io.tiergate.proxy.support.TestPki;
import io.tiergate.shared.Contexts;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpClientAgent;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.RequestOptions;
import io.vertx.core.net.PemKeyCertOptions;
import io.vertx.core.net.PemTrustOptions;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * Listener client certificates (nginx ssl_verify_client): required refuses a handshake without a certificate;
 * optional lets it through with no subject header; a verified subject (and the escaped PEM) reaches the upstream;
 * a client cannot send those headers itself, on any listener.
 */
@Timeout(60)
class ClientCertificateTest {
    static Vertx vertx;
    static Origin origin;
    static ProxyNode proxy;
    static int required;
    static int optional;
    static int plain;
    static TestPki.Issued alice;
    static TestPki.Issued mallory;
    static TestPki servers;

    @TempDir
    static Path dir;

    @BeforeAll
    static void start() {
        vertx = io.tiergate.shared.runtime.Runtimes.vertx();
        servers = TestPki.create(dir, "servers");
        TestPki clients = TestPki.create(dir, "clients");
        TestPki strangers = TestPki.create(dir, "strangers");
        alice = clients.client("alice");
        mallory = strangers.client("mallory");
        TestPki.Issued site = servers.server("site.test");
        origin = Origin.start(vertx, "origin", (o, req, body) -> req.response()
                .end("subject=" + req.getHeader("X-Client-Subject") + "\npem=" + req.getHeader("X-Client-Cert")));
        proxy = Proxies.start(vertx, """
                access_log: {format: off}
                listeners:
                  - name: required
                    address: 127.0.0.1:0
                    tls: {certificates: [{cert: %1$s, key: %2$s}], client_auth: required, client_ca: %3$s,
                          client_cert_header: X-Client-Subject, client_cert_pem_header: X-Client-Cert}
                  - name: optional
                    address: 127.0.0.1:0
                    tls: {certificates: [{cert: %1$s, key: %2$s}], client_auth: optional, client_ca: %3$s,
                          client_cert_header: X-Client-Subject}
                  - {name: plain, address: 127.0.0.1:0}
                upstreams: {app: {servers: ["%4$s"]}}
                servers: [{default: true, locations: [{prefix: /, upstream: app}]}]
                """.formatted(site.cert(), site.key(), clients.caPem(), origin.address()));
        required = proxy.listenPorts().get(0);
        optional = proxy.listenPorts().get(1);
        plain = proxy.listenPorts().get(2);
    }

    @AfterAll
    static void stop() {
        Origin.await(proxy.shutdown(Duration.ZERO));
        Origin.await(vertx.close());
    }

    private static String call(int port, boolean tls, TestPki.Issued cert, String... headers) {
        HttpClientOptions o = new HttpClientOptions().setSsl(tls).setKeepAlive(false);
        if (tls) {
            o.setTrustOptions(new PemTrustOptions().addCertPath(servers.caPem().toString())).setVerifyHost(false);
        }
        if (cert != null) {
            o.setKeyCertOptions(new PemKeyCertOptions().setCertPath(cert.cert().toString())
                    .setKeyPath(cert.key().toString()));
        }
        HttpClientAgent c = vertx.createHttpClient(o);
        try {
            RequestOptions r = new RequestOptions().setMethod(HttpMethod.GET).setHost("127.0.0.1").setPort(port)
                    .setURI("/");
            for (int i = 0; i + 1 < headers.length; i += 2) {
                r.addHeader(headers[i], headers[i + 1]);
            }
            return Origin.await(Contexts.onContext(vertx, () -> c.request(r).compose(req -> req.send())
                    .compose(resp -> resp.body()))).toString();
        } finally {
            c.close();
        }
    }

    @Test
    void requiredRefusesAHandshakeWithoutACertificate() {
        assertThatThrownBy(() -> call(required, true, null)).isInstanceOf(RuntimeException.class);
    }

    @Test
    void requiredRefusesACertificateFromAnotherCa() {
        assertThatThrownBy(() -> call(required, true, mallory)).isInstanceOf(RuntimeException.class);
    }

    @Test
    void theVerifiedSubjectAndPemReachTheUpstreamNotWhatTheClientClaims() throws Exception {
        String body = call(required, true, alice, "X-Client-Subject", "CN=admin", "X-Client-Cert", "forged");
        assertThat(body).contains("subject=CN=alice\n");
        String pem = URLDecoder.decode(body.substring(body.indexOf("pem=") + 4), StandardCharsets.UTF_8);
        assertThat(pem.strip()).isEqualTo(Files.readString(alice.cert()).strip());
    }

    @Test
    void optionalWithoutACertificateSendsNoSubject() {
        assertThat(call(optional, true, null)).startsWith("subject=null\n");
    }

    @Test
    void optionalWithACertificateSendsItsSubject() {
        assertThat(call(optional, true, alice)).startsWith("subject=CN=alice\n");
    }

    @Test
    void aSpoofedSubjectIsStrippedOnEveryListener() {
        assertThat(call(optional, true, null, "X-Client-Subject", "CN=admin")).startsWith("subject=null\n");
        assertThat(call(plain, false, null, "X-Client-Subject", "CN=admin", "X-Client-Cert", "x"))
                .isEqualTo("subject=null\npem=null");
    }
}
