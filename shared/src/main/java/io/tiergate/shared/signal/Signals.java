package io.tiergate.shared.signal;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import jnr.ffi.LibraryLoader;
import jnr.ffi.Memory;
import jnr.ffi.Pointer;
import jnr.ffi.Runtime;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The signals an nginx operator sends (HUP reload, USR1 reopen logs, TERM/INT stop), handled whatever the parent left
 * behind. A process started with {@code nohup} inherits SIGHUP ignored, and a background job of a non-interactive
 * shell inherits SIGINT ignored; the JVM's {@code sun.misc.Signal} then declines to install a handler (it only
 * reports the old disposition), so {@code kill -HUP} would reload nothing. Like nginx, which installs its handlers with
 * sigaction regardless, an ignored signal we handle is first reset to its default disposition through libc; the JVM
 * then installs its handler. A signal that is not ignored is left alone (resetting it would open a window in which it
 * kills the process). Whether a signal is ignored is read from {@code /proc/self/status}, so a proxy started the usual
 * way never loads the libc binding (jnr-ffi: some 300 classes, ~2 MB of a node's resident memory); it is loaded for an
 * ignored signal, for {@link #send}, and where {@code /proc} is not there.
 */
public final class Signals {
    private static final Logger log = LoggerFactory.getLogger(Signals.class);
    private static final long SIG_IGN = 1;
    /** struct sigaction is 152 bytes on x86_64 and aarch64 glibc; only its first member, the handler, is read. */
    private static final int SIGACTION_SIZE = 256;

    /** Not API: the two libc calls needed. */
    public interface LibC {
        int sigaction(int signum, Pointer act, Pointer oldact);

        long signal(int signum, long handler);

        @jnr.ffi.annotations.SaveError
        int kill(int pid, int sig);
    }

    /** The libc binding, loaded on first use. */
    private static final class Libc {
        static final Optional<LibC> LIBC = load();

        private static Optional<LibC> load() {
            try {
                return Optional.of(LibraryLoader.create(LibC.class).load("c"));
            } catch (Throwable t) {
                return Optional.empty(); // not Linux/glibc: sun.misc.Signal alone (ignored signals stay ignored)
            }
        }
    }

    private Signals() {
    }

    static Optional<LibC> libc() {
        return Libc.LIBC;
    }

    /**
     * Runs {@code action} on its own thread each time signal {@code name} ("HUP", "USR1", "TERM", "INT") arrives.
     * Returns false (and logs why) when the platform has no such signal or the JVM keeps it for itself.
     */
    public static boolean handle(String name, Runnable action) {
        sun.misc.Signal sig;
        try {
            sig = new sun.misc.Signal(name);
        } catch (IllegalArgumentException e) {
            log.warn("signal SIG{} does not exist on this platform: {}", name, e.getMessage());
            return false;
        }
        unignore(sig.getNumber());
        try {
            sun.misc.Signal.handle(sig, s -> {
                Thread t = new Thread(action, "tiergate-sig" + name.toLowerCase(java.util.Locale.ROOT));
                t.setDaemon(false);
                t.start();
            });
            return true;
        } catch (IllegalArgumentException e) {
            log.warn("cannot handle SIG{}: {}", name, e.getMessage());
            return false;
        }
    }

    /**
     * Sends signal {@code name} to process {@code pid} (what {@code kill -NAME pid} does). Returns null on success,
     * else the reason (e.g. "Operation not permitted", "No such process").
     */
    public static String send(long pid, String name) {
        Optional<LibC> libc = libc();
        if (libc.isEmpty()) {
            return "libc is not reachable on this platform";
        }
        int signum = new sun.misc.Signal(name).getNumber();
        if (libc.get().kill((int) pid, signum) == 0) {
            return null;
        }
        int errno = Runtime.getRuntime(libc.get()).getLastError();
        return switch (errno) {
            case 1 -> "Operation not permitted (EPERM: it runs as another user)";
            case 3 -> "No such process (ESRCH)";
            default -> "errno " + errno;
        };
    }

    /**
     * Whether {@code signum} is currently ignored (SIG_IGN) by this process: the kernel's {@code SigIgn} mask in
     * {@code /proc/self/status}, else libc's sigaction; false when neither is reachable.
     */
    public static boolean ignored(int signum) {
        Optional<Boolean> proc = ignoredPerProc(signum);
        if (proc.isPresent()) {
            return proc.get();
        }
        return ignoredPerLibc(signum);
    }

    /** The {@code SigIgn:} line of /proc/self/status: a hex mask, bit {@code signum - 1} set when ignored. */
    static Optional<Boolean> ignoredPerProc(int signum) {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (line.startsWith("SigIgn:")) {
                    long mask = Long.parseUnsignedLong(line.substring("SigIgn:".length()).trim(), 16);
                    return Optional.of((mask >>> (signum - 1) & 1) != 0);
                }
            }
        } catch (IOException | RuntimeException e) {
            // no procfs (not Linux, or a sandbox): ask libc
        }
        return Optional.empty();
    }

    static boolean ignoredPerLibc(int signum) {
        Optional<LibC> libc = libc();
        if (libc.isEmpty()) {
            return false;
        }
        Pointer old = Memory.allocateDirect(Runtime.getRuntime(libc.get()), SIGACTION_SIZE);
        if (libc.get().sigaction(signum, null, old) != 0) {
            return false;
        }
        return old.getLong(0) == SIG_IGN;
    }

    private static void unignore(int signum) {
        if (ignored(signum) && libc().isPresent()) {
            libc().get().signal(signum, 0L); // SIG_DFL; the JVM's handler replaces it a moment later
            log.debug("signal {} was ignored by the parent process; reset to default before handling it", signum);
        }
    }
}
