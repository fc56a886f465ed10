package io.tiergate.proxy.config;

import io.tiergate.proxy.support.TestPki;
import io.tiergate.shared.config.Problems;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

/** The keys of upstream TLS, upstream HTTP/2 and listener client certificates: parsed, and each mistake pointed at. */
class UpstreamProtocolConfigTest {
    @TempDir
    Path dir;

    private String problems(String yaml) {
        Problems p = new Problems();
        ProxyConfigTest.parse(yaml, p);
        return p.format();
    }

    private static String upstream(String body) {
        return """
                proxy:
                  listeners: [{address: 127.0.0.1:0}]
                  upstreams:
                    app:
                      servers: [127.0.0.1:9001]
                %s
                  servers: [{default: true, locations: [{prefix: /, upstream: app}]}]
                """.formatted(body.indent(6).stripTrailing());
    }

    @Test
    void aCompleteUpstreamTlsBlockParses() {
        TestPki ca = TestPki.create(dir, "ca");
        TestPki.Issued me = ca.client("proxy");
        Problems p = new Problems();
        ProxyConfig c = ProxyConfigTest.parse(upstream("""
                protocol: h2
                tls: {ca: %s, server_name: api.internal.test, cert: %s, key: %s, protocols: [TLSv1.3]}
                """.formatted(ca.caPem(), me.cert(), me.key())), p);
        assertThat(p.format()).isEmpty();
        UpstreamConfig u = c.upstreams().get("app");
        assertThat(u.protocol()).isEqualTo(UpstreamConfig.Protocol.H2);
        assertThat(u.tls()).isEqualTo(new UpstreamConfig.Tls(ca.caPem(), true, "api.internal.test", me.cert(),
                me.key(), java.util.List.of("TLSv1.3")));
    }

    @Test
    void h2WithoutTlsSaysUseH2cAndTheOtherWayRound() {
        assertThat(problems(upstream("protocol: h2"))).contains("p.yaml:6:17: proxy.upstreams.app.protocol:")
                .contains("h2 is HTTP/2 over TLS").contains("protocol: h2c");
        assertThat(problems(upstream("protocol: h2c\ntls: {verify: false}"))).contains("p.yaml:6:17")
                .contains("protocol: h2 for HTTP/2 over TLS");
        assertThat(problems(upstream("protocol: http3"))).contains("p.yaml:6:17").contains("http1, h2, h2c");
    }

    @Test
    void unreadableOrBrokenFilesAndMismatchedKeysArePointedAt() throws Exception {
        TestPki ca = TestPki.create(dir, "ca");
        TestPki.Issued a = ca.client("a");
        TestPki.Issued b = ca.client("b");
        Path notPem = Files.writeString(dir.resolve("junk.pem"), "hello");
        assertThat(problems(upstream("tls: {ca: /nonexistent/ca.pem}")))
                .contains("p.yaml:6:17: proxy.upstreams.app.tls.ca: cannot read /nonexistent/ca.pem");
        assertThat(problems(upstream("tls: {ca: " + notPem + "}"))).contains("upstreams.app.tls.ca:")
                .contains("junk.pem");
        assertThat(problems(upstream("tls: {cert: %s, key: %s}".formatted(a.cert(), b.key()))))
                .contains("upstreams.app.tls.key:").contains("does not belong to the certificate");
        assertThat(problems(upstream("tls: {cert: " + a.cert() + "}"))).contains("upstreams.app.tls.cert:")
                .contains("needs both cert: and key:");
    }

    @Test
    void contradictionsAndAddressesAsNamesAreExplained() {
        TestPki ca = TestPki.create(dir, "ca");
        assertThat(problems(upstream("tls: {verify: false, ca: " + ca.caPem() + "}")))
                .contains("upstreams.app.tls.verify:").contains("ignores the ca: bundle");
        assertThat(problems(upstream("tls: {server_name: 10.0.0.1}"))).contains("upstreams.app.tls.server_name:")
                .contains("not a DNS host name");
        assertThat(problems(upstream("tls: {protocols: [TLSv1]}"))).contains("unsupported TLS protocol 'TLSv1'");
    }

    @Test
    void listenerClientCertificateKeysAreChecked() {
        TestPki ca = TestPki.create(dir, "ca");
        TestPki.Issued site = ca.server("site.test");
        String base = """
                proxy:
                  listeners:
                    - address: 127.0.0.1:0
                      tls: {certificates: [{cert: %s, key: %s}], %s}
                  upstreams: {app: {servers: [127.0.0.1:9001]}}
                  servers: [{default: true, locations: [{prefix: /, upstream: app}]}]
                """;
        assertThat(problems(base.formatted(site.cert(), site.key(), "client_auth: required")))
                .contains("p.yaml:4:").contains("client_auth: required needs the CA bundle");
        assertThat(problems(base.formatted(site.cert(), site.key(), "client_cert_header: X-Subject")))
                .contains("listeners[0].tls.client_cert_header:").contains("client_auth: optional or required");
        assertThat(problems(base.formatted(site.cert(), site.key(),
                "client_auth: optional, client_ca: " + ca.caPem() + ", client_cert_header: 'X Subject'")))
                .contains("is not an HTTP header name");
        Problems ok = new Problems();
        ProxyConfig c = ProxyConfigTest.parse(base.formatted(site.cert(), site.key(),
                "client_auth: required, client_ca: " + ca.caPem() + ", client_cert_header: X-Subject"), ok);
        assertThat(ok.format()).isEmpty();
        assertThat(c.listeners().get(0).tls().clientAuth()).isEqualTo(ListenerConfig.ClientAuth.REQUIRED);
    }
}
