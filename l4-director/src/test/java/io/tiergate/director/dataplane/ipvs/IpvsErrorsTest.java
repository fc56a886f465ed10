package io.tiergate.director.dataplane.ipvs;

import static io.tiergate.director.dataplane.ipvs.IpvsCodecGoldenTest.addr;
import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

import io.tiergate.director.netlink.Errno;
import io.tiergate.director.netlink.NetlinkException;

/** Kernel errnos become exceptions whose messages tell the operator what is wrong and what to do. */
class IpvsErrorsTest {
    private static final IpvsService SVC = IpvsService.tcp(addr("10.0.0.1"), 80).scheduler("xyz").build();
    private static final IpvsDestination RS = IpvsDestination.builder(addr("10.0.1.11"), 80).build();

    private static IpvsException translate(int errno, String what, IpvsService s, IpvsDestination d) {
        return IpvsClient.translate(new NetlinkException(what + ": " + Errno.name(errno), errno), what, s, d);
    }

    @Test
    void unknownSchedulerSaysWhichModuleToLoad() {
        IpvsException e = translate(Errno.ENOENT, "adding service", SVC, null);
        assertThat(e).isInstanceOf(IpvsSchedulerNotLoadedException.class)
                .hasMessage("scheduler 'xyz' is not loaded: run `modprobe ip_vs_xyz`");
    }

    @Test
    void existingServiceAndDestinationAreNamed() {
        assertThat(translate(Errno.EEXIST, "adding service", SVC, null))
                .isInstanceOf(IpvsAlreadyExistsException.class).hasMessage("service TCP 10.0.0.1:80 already exists");
        assertThat(translate(Errno.EEXIST, "adding destination", SVC, RS))
                .isInstanceOf(IpvsAlreadyExistsException.class)
                .hasMessage("destination 10.0.1.11:80 of service TCP 10.0.0.1:80 already exists");
    }

    @Test
    void missingServiceAndDestinationAreNotFound() {
        assertThat(translate(Errno.ESRCH, "deleting service", SVC, null))
                .isInstanceOf(IpvsNotFoundException.class).hasMessage("service TCP 10.0.0.1:80 not found");
        assertThat(translate(Errno.ESRCH, "adding destination", SVC, RS))
                .isInstanceOf(IpvsNotFoundException.class).hasMessage("service TCP 10.0.0.1:80 not found");
        assertThat(translate(Errno.ENOENT, "deleting destination", SVC, RS))
                .isInstanceOf(IpvsNotFoundException.class)
                .hasMessage("destination 10.0.1.11:80 of service TCP 10.0.0.1:80 not found");
    }

    @Test
    void permissionSaysRootOrCapNetAdmin() {
        assertThat(translate(Errno.EPERM, "adding service", SVC, null))
                .isInstanceOf(IpvsPermissionException.class)
                .hasMessage("adding service needs root / CAP_NET_ADMIN (EPERM)");
    }

    @Test
    void otherErrnosKeepTheOperationAndSubject() {
        assertThat(translate(Errno.EINVAL, "adding destination", SVC, RS))
                .hasMessage("adding destination (destination 10.0.1.11:80 of service TCP 10.0.0.1:80) failed: EINVAL")
                .extracting(e -> ((IpvsException) e).errno()).isEqualTo(Errno.EINVAL);
    }

    @Test
    void builderRejectsNonsenseAtOnce() {
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> IpvsService.tcp(addr("10.0.0.1"), 70000).build())
                .hasMessage("port: 70000 (expected: 0..65535)");
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> IpvsService.tcp(addr("10.0.0.1"), 80).netmaskPrefix(33).build())
                .hasMessage("netmaskPrefix: 33 (expected: 1..32)");
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> IpvsDestination.builder(addr("10.0.1.1"), 80).weight(-1).build())
                .hasMessage("weight: -1 (expected: >= 0)");
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> IpvsDestination.builder(addr("10.0.1.1"), 80)
                        .forwarding(IpvsForwarding.TUNNEL).tunnel(IpvsTunnelType.GUE, 0, 0).build())
                .hasMessage("tunnelPort: 0 (expected: a port for a GUE tunnel)");
    }
}
