package io.tiergate.director.dataplane.ipvs;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import org.junit.jupiter.api.Test;

import io.tiergate.director.netlink.Errno;
import io.tiergate.director.netlink.Netlink;
import io.tiergate.director.netlink.NetlinkException;
import io.tiergate.director.netlink.NetlinkSocket;

/**
 * The jnr-ffi socket against whatever kernel runs the build: nlctrl always exists, so family
 * lookups work everywhere; whether IPVS exists decides what open() must do.
 */
class IpvsHostSocketTest {

    @Test
    void resolvesNlctrlAndReportsUnknownFamiliesAsEnoent() {
        assumeTrue(System.getProperty("os.name").startsWith("Linux"), "netlink needs Linux");
        try (NetlinkSocket s = NetlinkSocket.open(Netlink.NETLINK_GENERIC)) {
            assertThat(s.resolveFamily("nlctrl")).as("nlctrl's fixed id GENL_ID_CTRL").isEqualTo(0x10);
            assertThatThrownBy(() -> s.resolveFamily("NO_SUCH_FAMILY"))
                    .isInstanceOf(NetlinkException.class)
                    .satisfies(e -> assertThat(((NetlinkException) e).errno()).isEqualTo(Errno.ENOENT))
                    .hasMessageStartingWith("looking up generic netlink family NO_SUCH_FAMILY: ENOENT");
            // The socket is still usable after an error.
            assertThat(s.resolveFamily("nlctrl")).isEqualTo(0x10);
        }
    }

    @Test
    void openMatchesAvailability() {
        assumeTrue(System.getProperty("os.name").startsWith("Linux"), "netlink needs Linux");
        if (IpvsClient.available()) {
            try (IpvsClient c = IpvsClient.open()) {
                assertThat(c.familyId()).isGreaterThan(0x10);
            }
        } else {
            assertThatThrownBy(IpvsClient::open).isInstanceOf(IpvsUnavailableException.class)
                    .hasMessageContaining("modprobe ip_vs");
        }
    }
}
