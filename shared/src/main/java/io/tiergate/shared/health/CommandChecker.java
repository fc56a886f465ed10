package io.tiergate.shared.health;

import io.vertx.core.Context;
import java.io.File;
import java.util.ArrayList;
import java.util.List;

/**
 * Runs an external program; exit status 0 is healthy. The program is killed (with its children)
 * when the attempt times out or the target is removed. Process start is a fork/exec that can take
 * milliseconds, so it runs on a worker thread; waiting uses {@link Process#onExit()}, no thread
 * sits blocked per check.
 */
final class CommandChecker implements Checker {

    private final Context context;

    CommandChecker(Context context) {
        this.context = context;
    }

    @Override
    public void probe(ProbeAttempt attempt) {
        HealthTarget t = attempt.target;
        List<String> argv = new ArrayList<>(t.check().command().size());
        for (String arg : t.check().command()) {
            argv.add(arg.replace("{host}", t.host()).replace("{port}", Integer.toString(t.port())));
        }
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
            attempt.onCancel(() -> kill(p));
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
