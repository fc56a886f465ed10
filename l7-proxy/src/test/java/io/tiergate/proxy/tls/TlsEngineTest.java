package io.tiergate.proxy.tls;

import io.vertx.core.net.JdkSSLEngineOptions;
import io.vertx.core.net.OpenSSLEngineOptions;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

/** TLS listeners and upstream TLS use BoringSSL, shipped for Linux x86-64; the JDK's engine stays one flag away. */
class TlsEngineTest {
    @AfterEach
    void clear() {
        System.clearProperty(TlsEngine.PROPERTY);
    }

    @Test
    void boringSslByDefaultWhereItShips() {
        org.junit.jupiter.api.Assumptions.assumeTrue(System.getProperty("os.arch").equals("amd64")
                && System.getProperty("os.name").equals("Linux"), "skipped: BoringSSL ships for Linux x86-64 only");
        assertThat(TlsEngine.server()).isInstanceOf(OpenSSLEngineOptions.class);
        assertThat(TlsEngine.client()).as("TLS to upstreams too").isInstanceOf(OpenSSLEngineOptions.class);
        assertThat(TlsEngine.describe()).isEqualTo("TLS engine: BoringSSL (netty-tcnative)");
    }

    @Test
    void theJdksWhenAskedFor() {
        System.setProperty(TlsEngine.PROPERTY, "jdk");
        assertThat(TlsEngine.server()).isInstanceOf(JdkSSLEngineOptions.class);
        assertThat(TlsEngine.client()).isInstanceOf(JdkSSLEngineOptions.class);
        assertThat(TlsEngine.describe()).isEqualTo("TLS engine: JDK (-Dtiergate.tls.engine=jdk)");
    }

    @Test
    void anUnknownValueKeepsTheDefault() {
        System.setProperty(TlsEngine.PROPERTY, "gnutls");
        assertThat(TlsEngine.describe()).doesNotContain("-Dtiergate.tls.engine=jdk");
    }
}
