package io.tiergate.shared.signal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import org.junit.jupiter.api.Test;

class SignalsTest {
    private static final int SIGWINCH = 28; // unused by the JVM; ignoring it for a moment harms nothing

    @Test
    void procfsAndLibcAgreeOnWhichSignalIsIgnored() {
        assumeTrue(Signals.libc().isPresent(), "libc not reachable through jnr-ffi on this platform");
        assumeTrue(Signals.ignoredPerProc(SIGWINCH).isPresent(), "no /proc/self/status on this platform");
        Signals.LibC libc = Signals.libc().get();
        long before = libc.signal(SIGWINCH, 1L); // SIG_IGN
        try {
            assertThat(Signals.ignoredPerProc(SIGWINCH)).hasValue(true);
            assertThat(Signals.ignoredPerLibc(SIGWINCH)).isTrue();
            assertThat(Signals.ignored(SIGWINCH)).isTrue();
            for (int neighbour : new int[] {SIGWINCH - 1, SIGWINCH + 1}) {
                assertThat(Signals.ignoredPerProc(neighbour)).hasValue(Signals.ignoredPerLibc(neighbour));
            }
        } finally {
            libc.signal(SIGWINCH, before);
        }
        assertThat(Signals.ignoredPerProc(SIGWINCH)).hasValue(false);
        assertThat(Signals.ignored(SIGWINCH)).isFalse();
    }
}
