package io.tiergate.shared.config;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

class HostPortTest {
    @Test
    void ipv6LiteralsGetTheFormNftAndIpPrintBack() {
        assertThat(HostPort.parse("[fd77:0::11]:80", -1).canonical()).isEqualTo(new HostPort("fd77::11", 80));
        assertThat(HostPort.canonicalIp("FD77:0000:0:0:0:0:0:0011")).isEqualTo("fd77::11");
        assertThat(HostPort.canonicalIp("2001:db8:0:0:1:0:0:1")).as("the first of two equal zero runs")
                .isEqualTo("2001:db8::1:0:0:1");
        assertThat(HostPort.canonicalIp("2001:db8:0:1:1:1:1:1")).as("a single zero group stays")
                .isEqualTo("2001:db8:0:1:1:1:1:1");
        assertThat(HostPort.canonicalIp("0:0:0:0:0:0:0:1")).isEqualTo("::1");
        assertThat(HostPort.canonicalIp("fe80:0:0:0:0:0:0:0")).isEqualTo("fe80::");
        assertThat(HostPort.canonicalIp("::")).isEqualTo("::");
    }

    @Test
    void ipv4AndNamesAreLeftAlone() {
        assertThat(HostPort.canonicalIp("10.0.0.5")).isEqualTo("10.0.0.5");
        assertThat(HostPort.canonicalIp("app.internal")).isEqualTo("app.internal");
        assertThat(HostPort.parse("app.internal:80", -1).canonical()).isEqualTo(new HostPort("app.internal", 80));
    }
}
