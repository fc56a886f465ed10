package io.tiergate.cli;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import picocli.CommandLine.Option;

/**
 * {@code --pid-file FILE} of the long-running commands, which {@code tiergate reload --pid-file FILE} reads (nginx's
 * {@code pid} directive and {@code nginx -s reload}). Written once the process serves and its signal handlers are in
 * place, removed on a graceful stop.
 */
final class PidFile {
    @Option(names = "--pid-file", paramLabel = "FILE",
            description = "Write the process id here once serving (for `tiergate reload --pid-file FILE`); removed on stop.")
    Path path;

    void write() {
        if (path == null) {
            return;
        }
        try {
            Path parent = path.toAbsolutePath().getParent();
            Files.createDirectories(parent);
            Path tmp = Files.createTempFile(parent, ".tiergate-pid", ".tmp");
            Files.writeString(tmp, ProcessHandle.current().pid() + "\n", StandardCharsets.US_ASCII);
            Files.move(tmp, path, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            throw new UserException("--pid-file " + path + ": cannot write it: " + e, ExitCodes.FAILURE);
        }
    }

    /** Removes the file if it still names this process (a newer instance may have taken it over). */
    void remove() {
        if (path == null) {
            return;
        }
        try {
            if (Files.readString(path, StandardCharsets.US_ASCII).trim().equals(Long.toString(ProcessHandle.current().pid()))) {
                Files.delete(path);
            }
        } catch (IOException e) {
            // already gone
        }
    }
}
