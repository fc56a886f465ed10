package io.tiergate.director;

import io.tiergate.director.config.DirectorConfig;
import io.tiergate.director.dataplane.DataplaneKind;
import io.tiergate.director.model.ConnectionSync;
import io.tiergate.director.model.ForwardingMethod;
import io.tiergate.director.model.OnFailure;
import io.tiergate.director.model.Persistence;
import io.tiergate.director.model.Protocol;
import io.tiergate.director.model.RealServer;
import io.tiergate.director.model.Scheduler;
import io.tiergate.director.model.ServiceKey;
import io.tiergate.director.model.VirtualService;
import io.tiergate.shared.config.HostPort;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Optional;

import static org.assertj.core.api.Assertions.assertThat;

/** {@code dataplane: auto}: ipvs, else nft, else userspace, with the reason that is logged. */
class DirectorChoiceTest {
    static DirectorConfig config(Scheduler scheduler) {
        VirtualService web = new VirtualService("web", ServiceKey.of(Protocol.TCP, "10.0.0.100", 80), scheduler,
                ForwardingMethod.NAT, Persistence.NONE,
                List.of(new RealServer(new HostPort("10.0.0.11", 80), 1, Optional.empty())), Optional.empty(), 1,
                OnFailure.WEIGHT0, false);
        return DirectorConfig.of(DataplaneKind.AUTO, List.of(web)).withSync(Optional.of(new ConnectionSync("eth0", 1)));
    }

    @Test
    void autoPrefersIpvsThenNftThenUserspaceAndSaysWhy() {
        var ipvs = Director.choose(config(Scheduler.MAGLEV), true, Optional::empty, Optional::empty);
        assertThat(ipvs.kind()).isEqualTo(DataplaneKind.IPVS);
        assertThat(ipvs.reason()).contains("kernel has IPVS");

        var nft = Director.choose(config(Scheduler.MAGLEV).withSync(Optional.empty()), true,
                () -> Optional.of("the kernel has no IPVS and `modprobe ip_vs` failed"), Optional::empty);
        assertThat(nft.kind()).isEqualTo(DataplaneKind.NFT);
        assertThat(nft.reason()).contains("modprobe ip_vs` failed");

        var nftWithSync = Director.choose(config(Scheduler.MAGLEV), true, () -> Optional.of("no IPVS"),
                Optional::empty);
        assertThat(nftWithSync.kind()).as("a sync setting alone does not push auto past nft").isEqualTo(DataplaneKind.NFT);

        var user = Director.choose(config(Scheduler.LEAST_CONNECTION), true, () -> Optional.of("no IPVS"),
                Optional::empty);
        assertThat(user.kind()).isEqualTo(DataplaneKind.USERSPACE);
        assertThat(user.reason()).contains("ipvs: no IPVS").contains("nft: cannot express this config")
                .contains("scheduler 'lc'");

        assertThat(Director.choose(config(Scheduler.MAGLEV), false, Optional::empty, Optional::empty).kind())
                .isEqualTo(DataplaneKind.USERSPACE);
    }
}
