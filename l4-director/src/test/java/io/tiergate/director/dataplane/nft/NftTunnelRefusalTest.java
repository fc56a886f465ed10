package io.tiergate.director.dataplane.nft;

import io.tiergate.director.Director;
import io.tiergate.director.config.DirectorConfig;
import io.tiergate.director.dataplane.DataplaneException;
import io.tiergate.shared.config.ConfigMap;
import io.tiergate.shared.config.Problems;
import io.tiergate.shared.config.YamlLoader;
import io.vertx.core.Vertx;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;
import static org.junit.jupiter.api.Assumptions.assumeFalse;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * A kernel without IPIP (this project's build host): a director with a tunnel service on nft refuses to start with
 * one sentence naming the missing module, before it programs anything. Skips where the kernel has ipip (the VM test
 * covers that side) and where libnftables or root is missing.
 */
class NftTunnelRefusalTest {

    @Test
    void aTunnelServiceOnAKernelWithoutIpipIsRefusedAtStartNamingTheModule() {
        assumeTrue(Director.isRoot(), "nft tunnel refusal test: needs root");
        assumeTrue(NftDataplane.unavailableReason().isEmpty(), "nft tunnel refusal test: libnftables.so.1 missing");
        // Never load a module into the host's kernel: skip where `modprobe ipip` could succeed.
        assumeFalse(Files.isDirectory(Path.of("/sys/module/ipip")) || dryRunLoads("ipip"),
                "nft tunnel refusal test: this kernel has ipip");
        Problems problems = new Problems();
        ConfigMap root = ConfigMap.of(YamlLoader.parse("t.yaml", """
                director:
                  dataplane: nft
                  interface: eth0
                  admin: off
                  services:
                    far: {vip: 10.9.9.9:80, method: tunnel, real_servers: [10.1.0.11]}
                """), problems);
        DirectorConfig cfg = DirectorConfig.parse(root.mapOrEmpty("director"));
        root.finish();
        problems.throwIfAny();
        Director.Choice auto = Director.choose(cfg.withDataplane(io.tiergate.director.dataplane.DataplaneKind.AUTO));
        if (auto.kind() != io.tiergate.director.dataplane.DataplaneKind.IPVS) {
            assertThat(auto.reason()).as("dataplane: auto rules nft out for it, and says why")
                    .contains("nft: service 'far': the kernel has no IPIP tunnels");
        }
        Vertx vertx = Vertx.vertx();
        try {
            Throwable t = catchThrowable(() -> Director.start(vertx, cfg).close());
            assertThat(t).isInstanceOf(DataplaneException.class);
            assertThat(t.getMessage()).as("one line that names the module and the way out")
                    .startsWith("service 'far': the kernel has no IPIP tunnels: module ipip is not loaded and `modprobe ipip` ")
                    .contains("method 'tunnel' on nft needs a kernel with CONFIG_NET_IPIP")
                    .endsWith("(or use method dr/nat, or the ipvs dataplane)")
                    .doesNotContain("\n");
        } finally {
            vertx.close();
        }
    }

    private static boolean dryRunLoads(String module) {
        try {
            Process p = new ProcessBuilder("modprobe", "-n", "-q", module).redirectErrorStream(true).start();
            p.getInputStream().readAllBytes();
            return p.waitFor() == 0;
        } catch (Exception e) {
            return false;
        }
    }
}
