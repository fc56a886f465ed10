package io.tiergate.shared.health;

import io.vertx.core.Context;
import io.vertx.core.Vertx;
import java.io.File;
import java.util.ArrayList;
import java.util.List;

/**
 * Runs an external program; exit status 0 is healthy. The program is killed (with its children)
 * when the attempt times out or the target is removed. Process start is a fork/exec that can take
 * milliseconds, so it runs on a worker thread; waiting uses {@link Process#onExit()}, no thread
 * sits blocked per check. Unlike TCP and HTTP, nothing else bounds a command's run time, so this
 * checker arms its own timer for the timeout (the engine would only notice at the end of the interval).
 */
final class CommandChecker implements Checker {

    @Override
    public void probe(ProbeAttempt attempt) {
        HealthTarget t = attempt.target;
        List<String> argv = new ArrayList<>(t.check().command().size());
        for (String arg : t.check().command()) {
            argv.add(arg.replace("{host}", t.host()).replace("{port}", Integer.toString(t.port())));
        }
        Context context = attempt.context();
        long timeoutMs = attempt.timeoutMs;
        context.<Process>executeBlocking(() -> {
            ProcessBuilder pb = new ProcessBuilder(argv)
                    .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")))
                    .redirectOutput(ProcessBuilder.Redirect.DISCARD)
                    .redirectError(ProcessBuilder.Redirect.DISCARD);
            pb.environment().put("TIERGATE_HOST", t.host());
            pb.environment().put("TIERGATE_PORT", Integer.toString(t.port()));
            return pb.start();
        }, false).onComplete(ar -> {
            if (ar.failed()) {
                attempt.fail("command failed to start: " + ar.cause().getMessage());
                return;
            }
            Process p = ar.result();
            Vertx vertx = context.owner();
            long leftMs = timeoutMs - (System.nanoTime() - attempt.startNanos) / 1_000_000;
            long timer = vertx.setTimer(Math.max(1, leftMs), id -> attempt.fail(Checker.timeout(timeoutMs)));
            attempt.onCancel(() -> {
                vertx.cancelTimer(timer);
                kill(p);
            });
            p.onExit().whenComplete((done, err) -> {
                int code = p.exitValue();
                if (code == 0) {
                    attempt.succeed("command exited 0");
                } else {
                    attempt.fail("command exited " + code);
                }
            });
        });
    }

    private static void kill(Process p) {
        if (p.isAlive()) {
            p.descendants().forEach(ProcessHandle::destroyForcibly);
            p.destroyForcibly();
        }
    }
}
