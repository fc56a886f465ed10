package io.tiergate.proxy.forward;

import io.tiergate.proxy.ProxyNode;
import io.tiergate.proxy.support.Origin;
import io.tiergate.proxy.support.Proxies;
import io.tiergate.proxy.support.TestPki;
import io.vertx.core.Vertx;
import io.vertx.core.http.ClientAuth;
import io.vertx.core.http.HttpClientAgent;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.net.PemKeyCertOptions;
import io.vertx.core.net.PemTrustOptions;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * TLS to upstreams against real TLS origins with certificates made by the test: the right CA and name pass; a wrong
 * CA, a wrong name and an expired certificate are refused with a 502 that says why; an origin that requires client
 * certificates accepts the proxy's and refuses a proxy without one; a renewed client certificate is loaded in place
 * while a request on the old one finishes.
 */
@Timeout(60)
class UpstreamTlsTest {
    static Vertx vertx;
    static HttpClientAgent client;
    static TestPki ca;
    static TestPki otherCa;
    static TestPki.Issued originCert;
    static TestPki.Issued clientA;
    static TestPki.Issued clientB;
    static Origin origin;
    static Origin expiredOrigin;
    static Origin mtlsOrigin;
    final List<ProxyNode> proxies = new ArrayList<>();

    @TempDir
    static Path pki;
    @TempDir
    Path dir;

    @BeforeAll
    static void start() {
        vertx = io.tiergate.shared.runtime.Runtimes.vertx();
        client = vertx.createHttpClient();
        ca = TestPki.create(pki, "servers");
        otherCa = TestPki.create(pki, "elsewhere");
        TestPki clients = TestPki.create(pki, "clients");
        originCert = ca.server("origin.test");
        clientA = clients.client("proxy-a");
        clientB = clients.client("proxy-b");
        origin = Origin.start(vertx, "origin", tls(originCert).setSni(true), (o, req, body) -> req.response()
                .putHeader("X-Connection", Integer.toString(System.identityHashCode(req.connection())))
                .end("sni=" + req.connection().indicatedServerName()));
        expiredOrigin = Origin.start(vertx, "expired", tls(ca.expiredServer("origin.test")),
                (o, req, body) -> req.response().end("x"));
        // Trusts the clients' CA; says which certificate it saw; closes each connection so every request makes a
        // new handshake (the proxy would otherwise reuse the kept-alive one).
        mtlsOrigin = Origin.start(vertx, "mtls", tls(originCert).setClientAuth(ClientAuth.REQUIRED)
                        .setTrustOptions(new PemTrustOptions().addCertPath(clients.caPem().toString())),
                (o, req, body) -> {
                    String who;
                    try {
                        who = ((X509Certificate) req.connection().peerCertificates().get(0)).getSubjectX500Principal()
                                .getName();
                    } catch (Exception e) {
                        who = "none";
                    }
                    String w = who;
                    if (req.path().equals("/slow")) {
                        vertx.setTimer(1500, id -> req.response().putHeader("Connection", "close").end("client=" + w));
                    } else {
                        req.response().putHeader("Connection", "close").end("client=" + w);
                    }
                });
    }

    private static HttpServerOptions tls(TestPki.Issued c) {
        return new HttpServerOptions().setSsl(true).setKeyCertOptions(new PemKeyCertOptions()
                .setCertPath(c.cert().toString()).setKeyPath(c.key().toString()));
    }

    @AfterAll
    static void stop() {
        Origin.await(vertx.close());
    }

    @AfterEach
    void stopProxies() {
        proxies.forEach(p -> Origin.await(p.shutdown(Duration.ZERO)));
    }

    private int proxy(Origin to, String tls) {
        return proxy(new Origin.Address(to.address()), tls);
    }

    private int proxy(Origin.Address to, String tls) {
        ProxyNode p = Proxies.start(vertx, """
                access_log: {format: off}
                listeners: [{address: 127.0.0.1:0}]
                upstreams: {app: {servers: ["%s"], tls: %s}}
                retry: {tries: 1}
                servers: [{default: true, locations: [{prefix: /, upstream: app}]}]
                """.formatted(to.hostPort(), tls));
        proxies.add(p);
        return p.listenPorts().get(0);
    }

    @Test
    void theRightCaAndNamePassAndSniCarriesTheName() {
        int port = proxy(origin, "{ca: %s, server_name: origin.test}".formatted(ca.caPem()));
        Proxies.Reply r = Proxies.get(client, port, "/");
        assertThat(r.status()).isEqualTo(200);
        assertThat(r.body()).isEqualTo("sni=origin.test");
    }

    @Test
    void keptAliveTlsConnectionsAreReused() {
        int port = proxy(origin, "{ca: %s, server_name: origin.test}".formatted(ca.caPem()));
        java.util.Set<String> seen = new java.util.HashSet<>();
        for (int i = 0; i < 5; i++) {
            Proxies.Reply r = Proxies.get(client, port, "/");
            assertThat(r.status()).isEqualTo(200);
            seen.add(r.headers().get("X-Connection"));
        }
        assertThat(seen).as("one TLS handshake, then the pooled connection carries every request").hasSize(1);
    }

    @Test
    void aCertificateFromAnotherCaIsRefused() {
        int port = proxy(origin, "{ca: %s, server_name: origin.test}".formatted(otherCa.caPem()));
        Proxies.Reply r = Proxies.get(client, port, "/");
        assertThat(r.status()).isEqualTo(502);
        assertThat(r.body()).contains("TLS handshake with " + origin.address() + " (name origin.test) failed")
                .containsIgnoringCase("certification path");
        // (PKIX: "unable to find valid certification path to requested target")
    }

    @Test
    void aCertificateForAnotherNameIsRefused() {
        int port = proxy(origin, "{ca: %s, server_name: api.other.test}".formatted(ca.caPem()));
        Proxies.Reply r = Proxies.get(client, port, "/");
        assertThat(r.status()).isEqualTo(502);
        assertThat(r.body()).contains("TLS handshake").contains("api.other.test");
    }

    @Test
    void anExpiredCertificateIsRefused() {
        int port = proxy(expiredOrigin, "{ca: %s, server_name: origin.test}".formatted(ca.caPem()));
        Proxies.Reply r = Proxies.get(client, port, "/");
        assertThat(r.status()).isEqualTo(502);
        assertThat(r.body()).contains("TLS handshake").containsIgnoringCase("expired");
    }

    @Test
    void healthChecksUseTheGroupsTlsSettings() throws Exception {
        ProxyNode p = Proxies.start(vertx, """
                access_log: {format: off}
                listeners: [{address: 127.0.0.1:0}]
                upstreams:
                  trusted:
                    servers: ["%1$s"]
                    tls: {ca: %2$s, server_name: origin.test}
                    health: {type: http, interval: 200ms, timeout: 200ms, rise: 1, fall: 1}
                  untrusted:
                    servers: ["%1$s"]
                    tls: {ca: %3$s, server_name: origin.test}
                    health: {type: http, interval: 200ms, timeout: 200ms, rise: 1, fall: 1}
                servers: [{default: true, locations: [{prefix: /, upstream: trusted}]}]
                """.formatted(origin.address(), ca.caPem(), otherCa.caPem()));
        proxies.add(p);
        long end = System.nanoTime() + Duration.ofSeconds(20).toNanos();
        while (p.upstream("untrusted").peers().get(0).activeHealthy() && System.nanoTime() < end) {
            Thread.sleep(50);
        }
        assertThat(p.upstream("untrusted").peers().get(0).activeHealthy())
                .as("a server whose certificate the group would refuse fails its probes").isFalse();
        Thread.sleep(600); // a few more probe rounds
        assertThat(p.upstream("trusted").peers().get(0).activeHealthy())
                .as("probed over TLS with the group's CA and name: a plain HTTP probe would fail").isTrue();
    }

    @Test
    void aWebSocketUpgradeToATlsGroupIsVerifiedToo() {
        io.vertx.core.http.HttpServer ws = Origin.await(vertx.createHttpServer(tls(originCert).setSni(true))
                .webSocketHandler(s -> s.textMessageHandler(m -> s.writeTextMessage("echo " + m + " sni="
                        + ((javax.net.ssl.ExtendedSSLSession) s.sslSession()).getRequestedServerNames().stream()
                        .map(n -> ((javax.net.ssl.SNIHostName) n).getAsciiName()).toList())))
                .listen(0, "127.0.0.1"));
        String to = "127.0.0.1:" + ws.actualPort();
        int good = proxy(new Origin.Address(to), "{ca: %s, server_name: origin.test}".formatted(ca.caPem()));
        io.vertx.core.http.WebSocketClient wc = vertx.createWebSocketClient();
        String reply = Origin.await(wc.connect(good, "127.0.0.1", "/chat").compose(s -> {
            io.vertx.core.Promise<String> got = io.vertx.core.Promise.promise();
            s.textMessageHandler(got::tryComplete);
            s.writeTextMessage("hi");
            return got.future();
        }));
        assertThat(reply).isEqualTo("echo hi sni=[]"); // connected by address: no SNI (see docs)
        int bad = proxy(new Origin.Address(to), "{ca: %s, server_name: origin.test}".formatted(otherCa.caPem()));
        assertThat(Proxies.get(client, bad, "/chat", "Connection", "Upgrade", "Upgrade", "websocket",
                "Sec-WebSocket-Version", "13", "Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==").status())
                .isEqualTo(502);
        int wrongName = proxy(new Origin.Address(to), "{ca: %s, server_name: api.other.test}".formatted(ca.caPem()));
        Proxies.Reply r = Proxies.get(client, wrongName, "/chat", "Connection", "Upgrade", "Upgrade", "websocket",
                "Sec-WebSocket-Version", "13", "Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==");
        assertThat(r.status()).isEqualTo(502);
        assertThat(r.body()).contains("not issued for api.other.test");
        Origin.await(ws.close());
    }

    @Test
    void verifyOffAcceptsAnyCertificate() {
        int port = proxy(expiredOrigin, "{verify: false}");
        assertThat(Proxies.get(client, port, "/").status()).isEqualTo(200);
    }

    @Test
    void anOriginThatRequiresClientCertificatesTakesTheProxysAndRefusesNone() {
        int with = proxy(mtlsOrigin, "{ca: %s, server_name: origin.test, cert: %s, key: %s}".formatted(
                ca.caPem(), clientA.cert(), clientA.key()));
        Proxies.Reply ok = Proxies.get(client, with, "/");
        assertThat(ok.status()).isEqualTo(200);
        assertThat(ok.body()).isEqualTo("client=CN=proxy-a");
        int without = proxy(mtlsOrigin, "{ca: %s, server_name: origin.test}".formatted(ca.caPem()));
        Proxies.Reply refused = Proxies.get(client, without, "/");
        assertThat(refused.status()).isEqualTo(502);
    }

    @Test
    void aRenewedClientCertificateIsLoadedWithoutDroppingARequestInFlight() throws Exception {
        Path cert = dir.resolve("client.pem");
        Path key = dir.resolve("client.key");
        Files.copy(clientA.cert(), cert);
        Files.copy(clientA.key(), key);
        ProxyNode p = Proxies.start(vertx, """
                access_log: {format: off}
                listeners: [{address: 127.0.0.1:0}]
                upstreams: {app: {servers: ["%s"], tls: {ca: %s, server_name: origin.test, cert: %s, key: %s}}}
                servers: [{default: true, locations: [{prefix: /, upstream: app}]}]
                """.formatted(mtlsOrigin.address(), ca.caPem(), cert, key));
        proxies.add(p);
        int port = p.listenPorts().get(0);
        assertThat(Proxies.get(client, port, "/").body()).isEqualTo("client=CN=proxy-a");
        CompletableFuture<Proxies.Reply> slow = CompletableFuture.supplyAsync(() -> Proxies.get(client, port, "/slow"));
        Thread.sleep(500); // the slow request's handshake (with A) is done
        Path tmp = dir.resolve("new.pem");
        Files.copy(clientB.cert(), tmp);
        Files.move(tmp, cert, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        Files.copy(clientB.key(), tmp);
        Files.move(tmp, key, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        List<String> loaded = Origin.await(p.reloadCertificates());
        assertThat(loaded).singleElement().asString().contains("upstream 'app'");
        assertThat(Proxies.get(client, port, "/").body()).isEqualTo("client=CN=proxy-b");
        Proxies.Reply inFlight = slow.get();
        assertThat(inFlight.status()).isEqualTo(200);
        assertThat(inFlight.body()).isEqualTo("client=CN=proxy-a");
        // Nothing changed since: the next look loads nothing.
        assertThat(Origin.await(p.reloadCertificates())).isEmpty();
    }
}
