package io.tiergate.director.dataplane.ipvs;

import io.tiergate.director.config.DirectorConfig;
import io.tiergate.director.dataplane.DataplaneKind;
import io.tiergate.director.dataplane.DataplaneService;
import io.tiergate.director.dataplane.Destination;
import io.tiergate.director.model.ForwardingMethod;
import io.tiergate.director.model.Persistence;
import io.tiergate.director.model.Protocol;
import io.tiergate.director.model.Scheduler;
import io.tiergate.director.model.ServiceKey;
import io.tiergate.shared.config.ConfigMap;
import io.tiergate.shared.config.Problems;
import io.tiergate.shared.config.YamlLoader;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.List;
import java.util.Optional;

import static org.assertj.core.api.Assertions.assertThat;

/** The model ↔ IPVS mapping, no kernel: what the engine asks for reads back with the same fingerprint. */
class IpvsDataplaneTest {
    final IpvsDataplane dp = new IpvsDataplane(null);

    @Test
    void aServiceMapsToIpvsAndReadsBackWithTheSameFingerprint() throws Exception {
        DataplaneService s = new DataplaneService(ServiceKey.of(Protocol.TCP, "10.0.0.100", 80), Scheduler.MAGLEV,
                ForwardingMethod.DIRECT_ROUTE, new Persistence(Duration.ofMinutes(5), 24), false,
                List.of(new Destination("10.0.0.11", 80, 3), new Destination("10.0.0.12", 80, 0)));
        IpvsService svc = IpvsDataplane.service(s);
        assertThat(svc.scheduler()).as("maglev is IPVS's mh").isEqualTo("mh");
        assertThat(svc.persistent()).isTrue();
        assertThat(svc.timeoutSeconds()).isEqualTo(300);
        assertThat(svc.netmaskPrefix()).isEqualTo(24);
        List<IpvsDestination> dests = s.destinations().stream().map(d -> {
            try {
                return IpvsDataplane.destination(d, s.method());
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        }).toList();
        assertThat(dests).extracting(IpvsDestination::forwarding).containsOnly(IpvsForwarding.ROUTE);
        assertThat(dests).extracting(IpvsDestination::weight).containsExactly(3, 0);
        Optional<DataplaneService> back = dp.model(dp.key(svc), svc, dests);
        assertThat(back).as("read back from the kernel's view").contains(s);
        assertThat(back.get().fingerprint()).isEqualTo(s.fingerprint());
    }

    @Test
    void udpNatAndTunnelMapToIpvsForwardingMethods() throws Exception {
        DataplaneService s = new DataplaneService(ServiceKey.of(Protocol.UDP, "10.0.0.100", 53), Scheduler.ROUND_ROBIN,
                ForwardingMethod.NAT, Persistence.NONE, false, List.of(new Destination("10.0.0.21", 5353, 1)));
        IpvsService svc = IpvsDataplane.service(s);
        assertThat(svc.protocol()).isEqualTo(IpvsProtocol.UDP);
        assertThat(svc.persistent()).isFalse();
        assertThat(IpvsDataplane.forwarding(ForwardingMethod.NAT)).isEqualTo(IpvsForwarding.MASQ);
        assertThat(IpvsDataplane.forwarding(ForwardingMethod.TUNNEL)).isEqualTo(IpvsForwarding.TUNNEL);
        assertThat(dp.model(dp.key(svc), svc, List.of(IpvsDataplane.destination(s.destinations().get(0), s.method()))))
                .contains(s);
    }

    @Test
    void aForeignSchedulerIsReportedAsUnmanagedSoItIsReplaced() {
        IpvsService svc = IpvsService.tcp(IpvsCodecGoldenTest.addr("10.0.0.100"), 80).scheduler("lblcr").build();
        assertThat(dp.model(dp.key(svc), svc, List.of())).isEmpty();
    }

    @Test
    void proxyProtocolOnIpvsIsAConfigErrorAtCheckTime() {
        Problems problems = new Problems();
        ConfigMap root = ConfigMap.of(YamlLoader.parse("d.yaml", """
                director:
                  dataplane: ipvs
                  services:
                    web:
                      vip: 10.0.0.100:80
                      proxy_protocol: true
                      real_servers: [10.0.0.11]
                """), problems);
        DirectorConfig.parse(root.mapOrEmpty("director"));
        assertThat(problems.format()).contains("proxy_protocol needs the userspace dataplane (ipvs forwards packets");
        assertThat(DataplaneKind.IPVS.supports(Scheduler.LEAST_CONNECTION)).as("ipvs does every scheduler").isTrue();
    }
}
