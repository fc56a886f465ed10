package io.tiergate.director.dataplane.nft;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.abort;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The kernel recipe a TUN method on the nft dataplane would rest on, checked where the kernel has IPIP (Debian's,
 * under qemu; this project's host kernel has none): nft netdev ingress forwards VIP traffic into an ipip device with
 * {@code fwd ip to RS device}, the real server decapsulates on tunl0 and answers the client directly. See
 * src/test/vm/nft-ipip-dr.sh and docs/scale-out.md. Skips with one line when the VM cannot run here.
 */
class NftIpipVmTest {

    @Test
    @Timeout(value = 300, unit = TimeUnit.SECONDS)
    void nftForwardsIntoAnIpipTunnelAndTheRealServerAnswersDirectly() throws Exception {
        assumeTrue(System.getProperty("os.name").startsWith("Linux"), "nft IPIP VM test: needs Linux");
        Path vm = Path.of("src/test/vm/run-in-vm.sh").toAbsolutePath();
        Path probe = Path.of("src/test/vm/nft-ipip-dr.sh").toAbsolutePath();
        assumeTrue(Files.isExecutable(vm) && Files.isExecutable(probe),
                "nft IPIP VM test: src/test/vm scripts not found (run from the l4-director module)");
        assumeTrue(Files.isExecutable(Path.of("/usr/sbin/nft")) || Files.isExecutable(Path.of("/sbin/nft")),
                "nft IPIP VM test: needs the nft command (apt-get install nftables)");
        Process p = new ProcessBuilder(List.of(vm.toString(), "--timeout", "240", "--", "bash", probe.toString()))
                .redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        p.waitFor();
        if (p.exitValue() == 77) {
            String reason = out.lines().filter(l -> l.startsWith("skip: ")).reduce((a, b) -> b).orElse("skip: VM unavailable");
            abort("nft IPIP VM test skipped: " + reason.substring(6));
        }
        System.out.println(out);
        assertThat(out).as("three requests through the tunnel (console in target/vm-share/console.log)")
                .containsSubsequence("HTTP 200", "HTTP 200", "HTTP 200")
                .contains("replies via director: 0");
        assertThat(p.exitValue()).isZero();
    }
}
