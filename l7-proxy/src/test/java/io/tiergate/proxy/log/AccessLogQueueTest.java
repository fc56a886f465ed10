package io.tiergate.proxy.log;

import io.tiergate.proxy.config.ProxyConfig;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A log file that cannot keep up never holds requests back: lines beyond the queue are dropped and counted (the
 * metric operators alert on), and every line that was queued is written once the file takes them again.
 */
@Timeout(60)
class AccessLogQueueTest {
    @TempDir
    Path dir;

    private static AccessLog.Entry line(int i) {
        return new AccessLog.Entry(1_700_000_000_000L + i, "192.0.2.1", "GET", "/n/" + i, "HTTP/1.1", 200, 5, null,
                null, 1_000, "/", "app", "10.0.0.1:80", "200", 1, "memory", null, "rid-" + i);
    }

    @Test
    void aStuckFileDropsAndCountsWhatTheQueueCannotHoldAndLosesNothingQueued() throws Exception {
        // A named pipe nobody reads yet: the writer thread blocks opening it, as on a disk or pipe that hangs.
        Path fifo = dir.resolve("access.fifo");
        assertThat(new ProcessBuilder("mkfifo", fifo.toString()).inheritIO().start().waitFor()).isZero();
        AccessLog log = new AccessLog(new ProxyConfig.AccessLog(ProxyConfig.AccessLog.Format.COMBINED,
                fifo.toString()));
        int queued = 65_536;
        int extra = 4_464;
        long t0 = System.nanoTime();
        for (int i = 0; i < queued + extra; i++) {
            log.log(line(i));
        }
        assertThat(TimeUnit.NANOSECONDS.toSeconds(System.nanoTime() - t0)).as("logging never waits for the file")
                .isLessThan(20);
        assertThat(log.dropped()).as("lines beyond the 65,536-line queue").isEqualTo(extra);

        // The file takes lines again: everything that was queued arrives, in order, each once.
        CompletableFuture<long[]> read = CompletableFuture.supplyAsync(() -> {
            try (BufferedReader r = new BufferedReader(new InputStreamReader(Files.newInputStream(fifo),
                    StandardCharsets.UTF_8))) {
                long n = 0;
                long outOfOrder = 0;
                String s;
                while ((s = r.readLine()) != null) {
                    if (!s.contains("\"GET /n/" + n + " HTTP/1.1\"")) {
                        outOfOrder++;
                    }
                    n++;
                }
                return new long[] {n, outOfOrder};
            } catch (java.io.IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        });
        log.close(); // the writer, its open returned once the reader came, writes out what is queued before it stops
        long[] got = read.get(30, TimeUnit.SECONDS);
        assertThat(got[0]).as("lines written after the pipe was read again").isEqualTo(queued);
        assertThat(got[1]).as("lines out of order").isZero();
    }
}
