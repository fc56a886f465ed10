package io.tiergate.cli.lab;

import org.junit.jupiter.api.Assumptions;

import java.nio.file.Files;
import java.nio.file.Path;

/**
 * What a test on the full lab needs, checked before it builds anything: each missing piece skips the test with one
 * line. The lab's namespace names are fixed, so a lab already up on the machine (another run, `tiergate lab up`) skips
 * it too: the lab tests run one after the other, never at the same time.
 */
final class LabPreconditions {
    private LabPreconditions() {
    }

    static void assume(String what, Path jar) {
        String why = Netns.unavailableReason();
        Assumptions.assumeTrue(why == null, what + " skipped: " + why);
        Assumptions.assumeTrue(Files.exists(Path.of("/usr/lib/x86_64-linux-gnu/libnftables.so.1")),
                what + " skipped: needs libnftables1 (apt-get install libnftables1)");
        Assumptions.assumeTrue(Files.isRegularFile(jar), what + " skipped: " + jar + " missing (run mvn verify)");
        Assumptions.assumeTrue(Netns.list().stream().noneMatch(n -> n.startsWith(Lab.PREFIX)),
                what + " skipped: a lab is already up on this machine (tiergate lab down)");
    }
}
