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
 * The nft tunnel method end to end where the kernel has IPIP (Debian's, under qemu; this project's host kernel has
 * none): the real director ({@link TunnelDirectorMain}, plain java with this test's classpath) forwards VIP traffic
 * into one ipip device per real server, the real servers sit on two other subnets behind a router, answer the
 * client directly, take a request larger than the tunnel MTU once they advertise the clamped MSS, and removing one
 * from the config removes its device. See src/test/vm/nft-tunnel-director.sh. Skips with one line when the VM
 * cannot run here.
 */
class NftTunnelVmTest {

    @Test
    @Timeout(value = 300, unit = TimeUnit.SECONDS)
    void theDirectorServesRealServersBeyondItsSegmentThroughIpipTunnels() throws Exception {
        assumeTrue(System.getProperty("os.name").startsWith("Linux"), "nft tunnel VM test: needs Linux");
        Path vm = Path.of("src/test/vm/run-in-vm.sh").toAbsolutePath();
        Path script = Path.of("src/test/vm/nft-tunnel-director.sh").toAbsolutePath();
        assumeTrue(Files.isExecutable(vm) && Files.isExecutable(script),
                "nft tunnel VM test: src/test/vm scripts not found (run from the l4-director module)");
        assumeTrue(Files.isExecutable(Path.of("/usr/sbin/nft")) || Files.isExecutable(Path.of("/sbin/nft")),
                "nft tunnel VM test: needs the nft command (apt-get install nftables)");
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        long t0 = System.nanoTime();
        Process p = new ProcessBuilder(List.of(vm.toString(), "--timeout", "240", "--", "bash", script.toString(),
                java, System.getProperty("java.class.path"))).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        p.waitFor();
        if (p.exitValue() == 77) {
            String reason = out.lines().filter(l -> l.startsWith("skip: ")).reduce((a, b) -> b).orElse("skip: VM unavailable");
            abort("nft tunnel VM test skipped: " + reason.substring(6));
        }
        System.out.println(out);
        System.out.println("nft tunnel VM run took " + (System.nanoTime() - t0) / 1_000_000_000 + " s");
        String checks = out.lines().filter(l -> l.startsWith("CHECK ")).reduce("", (a, b) -> a + "\n" + b);
        assertThat(out).as("every check in the VM (console in target/vm-share/console.log):%s", checks)
                .contains("CHECK director-started ok", "CHECK tunnel-devices ok", "CHECK spread ok",
                        "CHECK big-response ok", "CHECK big-request ok", "CHECK replies-bypass-director ok",
                        "CHECK device-removed ok", "CHECK after-removal ok", "TUNNEL CHECKS: 0 failed");
        assertThat(p.exitValue()).isZero();
    }
}
