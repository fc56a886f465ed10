package io.tiergate.director.dataplane.ipvs;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.abort;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The IPVS dataplane against a real kernel: boots Debian's kernel under qemu (run-in-vm.sh) and runs
 * {@link IpvsKernelChecks} (plus the DR traffic check) inside it, where ipvsadm cross-checks every
 * change. Skips with one line when this machine can't run the VM (not root, no qemu, no mirror).
 */
class IpvsVmTest {

    @Test
    @Timeout(value = 300, unit = TimeUnit.SECONDS)
    void ipvsClientAgreesWithIpvsadmOnARealKernel() throws Exception {
        assumeTrue(System.getProperty("os.name").startsWith("Linux"), "IPVS VM test: needs Linux");
        Path script = Path.of("src/test/vm/run-in-vm.sh").toAbsolutePath();
        assumeTrue(Files.isExecutable(script), "IPVS VM test: " + script + " not found (run from the l4-director module)");
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        List<String> cmd = List.of(script.toString(), "--timeout", "240", "--",
                java, "-Xshare:auto", "-XX:TieredStopAtLevel=1", "-cp", System.getProperty("java.class.path"),
                IpvsKernelChecks.class.getName(), "--traffic", "--director");
        long t0 = System.nanoTime();
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        p.waitFor();
        long seconds = (System.nanoTime() - t0) / 1_000_000_000;
        int rc = p.exitValue();
        if (rc == 77) {
            String reason = out.lines().filter(l -> l.startsWith("skip: ")).reduce((a, b) -> b).orElse("skip: VM unavailable");
            abort("IPVS VM test skipped: " + reason.substring(6));
        }
        System.out.println(out);
        System.out.println("IPVS VM run took " + seconds + " s");
        String summary = out.lines().filter(l -> l.startsWith("FAIL ") || l.contains("IPVS CHECKS")).reduce("", (a, b) -> a + "\n" + b);
        assertThat(rc).as("exit code of the checks in the VM (0 = all passed; console in target/vm-share/console.log):%s", summary).isZero();
        assertThat(out).contains("IPVS CHECKS PASSED");
    }
}
