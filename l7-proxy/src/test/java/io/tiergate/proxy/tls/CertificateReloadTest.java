package io.tiergate.proxy.tls;

import io.tiergate.proxy.ProxyNode;
import io.tiergate.proxy.support.Origin;
import io.tiergate.proxy.support.Proxies;
import io.tiergate.shared.Contexts;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpClientAgent;
import io.vertx.core.http.HttpClientConnection;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpConnectOptions;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.RequestOptions;
import io.vertx.core.net.SelfSignedCertificate;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.math.BigInteger;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * A certificate renewed the way certbot and cert-manager do it (new contents at the same paths): after
 * {@link ProxyNode#reloadCertificates()} new handshakes get the new certificate while a connection opened before keeps
 * working on the old one; a renewal whose key does not fit its certificate is refused and the old pair keeps serving.
 */
@Timeout(60)
class CertificateReloadTest {
    @TempDir
    Path dir;
    Vertx vertx;
    Origin origin;
    ProxyNode proxy;
    int port;
    Path cert;
    Path key;
    final List<HttpClientAgent> clients = new java.util.ArrayList<>();

    @BeforeEach
    void start() throws Exception {
        vertx = io.tiergate.shared.runtime.Runtimes.vertx();
        origin = Origin.start(vertx, "origin", (o, req, body) -> req.response().end("ok"));
        cert = dir.resolve("site.pem");
        key = dir.resolve("site.key");
        install(SelfSignedCertificate.create("site.example"));
        proxy = Proxies.start(vertx, yaml(cert, key, 0));
        port = proxy.listenPorts().get(0);
    }

    private String yaml(Path certFile, Path keyFile, int listenPort) {
        return """
                access_log: {format: off}
                listeners:
                  - {name: https, address: 127.0.0.1:%d, tls: {certificates: [{cert: %s, key: %s}]}}
                upstreams: {app: {servers: ["%s"]}}
                servers: [{default: true, locations: [{prefix: /, upstream: app}]}]
                """.formatted(listenPort, certFile, keyFile, origin.address());
    }

    @AfterEach
    void stop() {
        Origin.await(proxy.shutdown(Duration.ZERO));
        Origin.await(vertx.close());
    }

    /** Writes a pair over the listener's files, each by rename (how renewal tools replace files). */
    private void install(SelfSignedCertificate c) throws Exception {
        copy(Path.of(c.certificatePath()), cert);
        copy(Path.of(c.privateKeyPath()), key);
    }

    private void copy(Path from, Path to) throws Exception {
        Path tmp = Files.createTempFile(dir, "new", ".pem");
        Files.copy(from, tmp, StandardCopyOption.REPLACE_EXISTING);
        Files.move(tmp, to, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    }

    private static BigInteger serial(HttpClientConnection c) throws Exception {
        return ((X509Certificate) c.peerCertificates().get(0)).getSerialNumber();
    }

    private HttpClientConnection connect() {
        HttpClientAgent client = vertx.createHttpClient(new HttpClientOptions().setSsl(true).setTrustAll(true)
                .setVerifyHost(false));
        clients.add(client); // an unreachable client is closed by Vert.x's cleaner, and its connections with it
        return Origin.await(client.connect(new HttpConnectOptions().setHost("127.0.0.1").setPort(port)));
    }

    private String get(HttpClientConnection c) {
        return Origin.await(Contexts.onContext(vertx, () -> c.request(new RequestOptions().setMethod(HttpMethod.GET)
                .setURI("/")).compose(r -> r.send().compose(resp -> resp.body()
                .map(b -> resp.statusCode() + " " + b)))));
    }

    @Test
    void newHandshakesGetTheRenewedCertificateWhileAnOpenConnectionKeepsWorking() throws Exception {
        HttpClientConnection before = connect();
        assertThat(get(before)).isEqualTo("200 ok");
        BigInteger oldSerial = serial(before);

        SelfSignedCertificate renewed = SelfSignedCertificate.create("site.example");
        install(renewed);
        List<String> changed = Origin.await(proxy.reloadCertificates());
        assertThat(changed).as("the listener whose files changed is named")
                .singleElement().asString().contains("listener 'https'").contains(cert.toString());

        HttpClientConnection after = connect();
        BigInteger newSerial = serial(after);
        assertThat(newSerial).as("a new handshake gets the renewed certificate").isNotEqualTo(oldSerial);
        assertThat(newSerial).isEqualTo(((X509Certificate) java.security.cert.CertificateFactory.getInstance("X.509")
                .generateCertificate(Files.newInputStream(cert))).getSerialNumber());
        assertThat(get(after)).isEqualTo("200 ok");
        for (int i = 0; i < 2 * Runtime.getRuntime().availableProcessors(); i++) {
            // connections spread over the listener's event loops: every one of them serves the new certificate
            assertThat(serial(connect())).isEqualTo(newSerial);
        }
        HttpClientAgent h2 = vertx.createHttpClient(new HttpClientOptions().setSsl(true).setTrustAll(true)
                .setVerifyHost(false).setUseAlpn(true).setProtocolVersion(io.vertx.core.http.HttpVersion.HTTP_2));
        io.vertx.core.http.HttpVersion negotiated = Origin.await(h2.request(new RequestOptions().setHost("127.0.0.1")
                .setPort(port).setURI("/")).compose(r -> r.send().map(resp -> resp.version())));
        assertThat((Object) negotiated).as("ALPN still offers h2 with the renewed certificate").isEqualTo(io.vertx.core.http.HttpVersion.HTTP_2);
        assertThat(get(before)).as("the connection opened before the renewal still serves").isEqualTo("200 ok");
        assertThat(serial(before)).as("on the certificate it negotiated").isEqualTo(oldSerial);

        assertThat(Origin.await(proxy.reloadCertificates())).as("unchanged files: nothing to do").isEmpty();
    }

    @Test
    void aRenewalWithAKeyOfAnotherCertificateIsRefusedAndTheOldPairKeepsServing() throws Exception {
        BigInteger oldSerial = serial(connect());
        SelfSignedCertificate other = SelfSignedCertificate.create("site.example");
        SelfSignedCertificate third = SelfSignedCertificate.create("site.example");
        copy(Path.of(other.certificatePath()), cert);
        copy(Path.of(third.privateKeyPath()), key); // a half-done renewal: new cert, somebody else's key

        assertThatThrownBy(() -> Origin.await(proxy.reloadCertificates()))
                .hasMessageContaining("listener 'https'")
                .hasMessageContaining("does not belong to the certificate in " + cert)
                .hasMessageContaining("still serving the previous certificate");
        HttpClientConnection c = connect();
        assertThat(serial(c)).as("the old certificate still serves").isEqualTo(oldSerial);
        assertThat(get(c)).isEqualTo("200 ok");

        copy(Path.of(other.privateKeyPath()), key); // the renewal completes
        assertThat(Origin.await(proxy.reloadCertificates())).hasSize(1);
        assertThat(serial(connect())).isEqualTo(((X509Certificate) java.security.cert.CertificateFactory
                .getInstance("X.509").generateCertificate(Files.newInputStream(cert))).getSerialNumber());
    }

    @Test
    void aReloadPointingAtOtherCertificateFilesKeepsTheSocketAndItsConnections() throws Exception {
        // the listener must keep its port across the reload: give the config the port it got
        Origin.await(proxy.reload(Proxies.config(yaml(cert, key, port))));
        HttpClientConnection before = connect();
        BigInteger oldSerial = serial(before);
        SelfSignedCertificate next = SelfSignedCertificate.create("site.example");

        Origin.await(proxy.reload(Proxies.config(yaml(Path.of(next.certificatePath()), Path.of(next.privateKeyPath()),
                port))));
        assertThat(proxy.listenPorts()).as("the same socket, not a rebind").containsExactly(port);
        HttpClientConnection after = connect();
        assertThat(serial(after)).isNotEqualTo(oldSerial)
                .isEqualTo(((X509Certificate) java.security.cert.CertificateFactory.getInstance("X.509")
                        .generateCertificate(Files.newInputStream(Path.of(next.certificatePath())))).getSerialNumber());
        assertThat(get(before)).as("the connection opened before keeps working").isEqualTo("200 ok");
        assertThat(get(after)).isEqualTo("200 ok");
    }
}
