package io.tiergate.cli;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A {@code tiergate} command as a real child process (this JVM's java and class path), started through an optional
 * wrapper (nohup, a shell that ignores signals, setpriv), with its stdout and stderr collected line by line.
 */
final class TierProcess implements AutoCloseable {
    final Process process;
    final List<String> lines = new CopyOnWriteArrayList<>();
    private int seen;

    private TierProcess(Process process) {
        this.process = process;
        Thread t = new Thread(() -> {
            try (BufferedReader r = new BufferedReader(new InputStreamReader(process.getInputStream(),
                    StandardCharsets.UTF_8))) {
                for (String l; (l = r.readLine()) != null; ) {
                    lines.add(l);
                }
            } catch (IOException e) {
                // the process ended
            }
        }, "tier-output");
        t.setDaemon(true);
        t.start();
    }

    /** {@code wrapper} (may be empty) then {@code java -cp ... io.tiergate.cli.Main args...}. */
    static TierProcess start(List<String> wrapper, String... args) throws IOException {
        List<String> cmd = new ArrayList<>(wrapper);
        cmd.add(ProcessHandle.current().info().command().orElse("java"));
        cmd.addAll(List.of("-cp", System.getProperty("java.class.path"), Main.class.getName()));
        cmd.addAll(List.of(args));
        return new TierProcess(new ProcessBuilder(cmd).redirectErrorStream(true).start());
    }

    /**
     * The wrapper an operator's {@code nohup tiergate ... &} from a script amounts to: SIGHUP ignored by nohup, SIGINT
     * ignored by the shell (what a non-interactive shell does to its background jobs), then exec.
     */
    static List<String> nohupWithSigintIgnored() {
        return List.of("nohup", "sh", "-c", "trap '' INT; exec \"$0\" \"$@\"");
    }

    /** Waits (30 s at most) for a line after the last one matched; returns group 1 if the regex has one. */
    String waitFor(String regex) throws InterruptedException {
        Pattern p = Pattern.compile(regex);
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        long endedAt = 0;
        while (System.nanoTime() < end) {
            for (int i = seen; i < lines.size(); i++) {
                Matcher m = p.matcher(lines.get(i));
                if (m.find()) {
                    seen = i + 1;
                    return m.groupCount() > 0 ? m.group(1) : lines.get(i);
                }
            }
            if (!process.isAlive()) {
                if (endedAt == 0) {
                    endedAt = System.nanoTime();
                } else if (System.nanoTime() - endedAt > TimeUnit.MILLISECONDS.toNanos(500)) {
                    break; // it exited and its last lines are in
                }
            }
            Thread.sleep(50);
        }
        throw new AssertionError("expected a line matching /" + regex + "/; the process printed:\n" + output());
    }

    void signal(String name) throws Exception {
        int rc = new ProcessBuilder("kill", "-" + name, Long.toString(process.pid())).start().waitFor();
        if (rc != 0) {
            throw new AssertionError("kill -" + name + " " + process.pid() + " exited " + rc);
        }
    }

    /** Exit code, waiting up to 30 s. */
    int exit() throws InterruptedException {
        if (!process.waitFor(30, TimeUnit.SECONDS)) {
            throw new AssertionError("still running after 30 s; it printed:\n" + output());
        }
        Thread.sleep(100); // the reader thread drains the last lines
        return process.exitValue();
    }

    String output() {
        return String.join("\n", lines);
    }

    @Override
    public void close() throws InterruptedException {
        if (process.isAlive()) {
            process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
        }
    }
}
