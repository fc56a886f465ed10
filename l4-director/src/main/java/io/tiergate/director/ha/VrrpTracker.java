package io.tiergate.director.ha;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.File;
import java.io.IOException;
import java.net.NetworkInterface;
import java.net.SocketException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;

/**
 * Runs {@code track_interface} polls and {@code track_script} checks for one instance on one small thread of its own,
 * never the advert thread: a check is a child process whose exit arrives through {@link Process#onExit()}, and one
 * still running at its timeout is killed and counts as failed. Each change of the combined result (FAULT, sum of
 * weights) goes to the {@link Sink}, which only posts it to the advert thread.
 */
final class VrrpTracker implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(VrrpTracker.class);
    /** How often tracked interfaces are looked at (keepalived reacts to netlink; 200 ms is close enough here). */
    static final long INTERFACE_POLL_MS = 200;

    interface Sink {
        void tracked(boolean fault, int delta);
    }

    private final int vrid;
    private final Sink sink;
    private final ScheduledThreadPoolExecutor exec;
    // confined to exec's thread
    private final List<Watched> watched = new ArrayList<>();
    private boolean lastFault;
    private int lastDelta;
    private boolean told;
    private final boolean initialFault;
    private final int initialDelta;
    private volatile List<String> description;

    /** One tracked thing's state. {@code ok} is what counts; the streaks implement rise/fall for scripts. */
    private static final class Watched {
        final String kind;
        final String name;
        final int weight;
        final VrrpTracking.Script script; // null for an interface
        boolean ok;
        int passes;
        int failures;
        volatile Process running;
        String why = "";

        Watched(String kind, String name, int weight, VrrpTracking.Script script, boolean ok) {
            this.kind = kind;
            this.name = name;
            this.weight = weight;
            this.script = script;
            this.ok = ok;
        }

        String effect() {
            return weight == 0 ? "FAULT" : weight > 0 ? "+" + weight + " lost" : weight + " applied";
        }
    }

    VrrpTracker(int vrid, VrrpTracking tracking, Sink sink) {
        this.vrid = vrid;
        this.sink = sink;
        this.exec = new ScheduledThreadPoolExecutor(1, r -> {
            Thread t = new Thread(r, "vrrp-" + vrid + "-track");
            t.setDaemon(true);
            return t;
        });
        exec.setExecuteExistingDelayedTasksAfterShutdownPolicy(false);
        for (VrrpTracking.Interface i : tracking.interfaces()) {
            watched.add(new Watched("track_interface", i.name(), i.weight(), null, interfaceUp(i.name())));
        }
        for (VrrpTracking.Script s : tracking.scripts()) {
            watched.add(new Watched("track_script", s.name(), s.weight(), s, !s.initFail()));
        }
        initialFault = fault();
        initialDelta = delta();
        describeNow();
    }

    /** The combined state before any check ran (interfaces as they were, scripts as configured to start). */
    boolean initialFault() {
        return initialFault;
    }

    int initialDelta() {
        return initialDelta;
    }

    void start() {
        exec.execute(this::recompute);
        if (watched.stream().anyMatch(w -> w.script == null)) {
            exec.scheduleWithFixedDelay(this::pollInterfaces, INTERFACE_POLL_MS, INTERFACE_POLL_MS, TimeUnit.MILLISECONDS);
        }
        for (Watched w : watched) {
            if (w.script != null) {
                exec.scheduleWithFixedDelay(() -> run(w), 0, w.script.interval().toNanos(), TimeUnit.NANOSECONDS);
            }
        }
    }

    private static boolean interfaceUp(String name) {
        try {
            NetworkInterface nif = NetworkInterface.getByName(name);
            return nif != null && nif.isUp(); // IFF_UP and IFF_RUNNING (carrier), as keepalived tracks it
        } catch (SocketException e) {
            return false;
        }
    }

    private void pollInterfaces() {
        boolean changed = false;
        for (Watched w : watched) {
            if (w.script == null) {
                boolean up = interfaceUp(w.name);
                if (up != w.ok) {
                    w.ok = up;
                    w.why = up ? "up" : "down or missing";
                    log.warn("VRRP vrid {}: track_interface {} is {}{}", vrid, w.name, up ? "up again" : "DOWN",
                            up ? "" : " (" + w.effect() + ")");
                    changed = true;
                }
            }
        }
        if (changed) {
            recompute();
        }
    }

    private void run(Watched w) {
        if (w.running != null) {
            return; // still running (its timeout will end it): a check never runs twice at once
        }
        Process p;
        try {
            p = new ProcessBuilder(w.script.command()).redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.DISCARD)
                    .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null"))).start();
        } catch (IOException e) {
            result(w, false, "could not start: " + e.getMessage());
            return;
        }
        w.running = p;
        long timeoutNanos = w.script.timeout().toNanos();
        exec.schedule(() -> {
            if (w.running == p) {
                p.destroyForcibly();
                w.running = null;
                result(w, false, "timed out after " + w.script.timeout().toMillis() + " ms");
            }
        }, timeoutNanos, TimeUnit.NANOSECONDS);
        p.onExit().thenAccept(done -> {
            try {
                exec.execute(() -> {
                    if (w.running == done) {
                        w.running = null;
                        int code = done.exitValue();
                        result(w, code == 0, "exit " + code);
                    }
                });
            } catch (java.util.concurrent.RejectedExecutionException stopped) {
                // the tracker was closed meanwhile
            }
        });
    }

    private void result(Watched w, boolean pass, String why) {
        VrrpTracking.Script s = w.script;
        if (pass) {
            w.passes++;
            w.failures = 0;
        } else {
            w.failures++;
            w.passes = 0;
        }
        w.why = why;
        describeNow();
        if (!w.ok && pass && w.passes >= s.rise()) {
            w.ok = true;
            log.info("VRRP vrid {}: track_script {} passes again ({} in a row)", vrid, w.name, w.passes);
            recompute();
        } else if (w.ok && !pass && w.failures >= s.fall()) {
            w.ok = false;
            log.warn("VRRP vrid {}: track_script {} FAILED {} time(s) in a row ({}): {}", vrid, w.name, w.failures, why,
                    w.effect());
            recompute();
        }
    }

    private boolean fault() {
        return watched.stream().anyMatch(w -> w.weight == 0 && !w.ok);
    }

    private int delta() {
        int d = 0;
        for (Watched w : watched) {
            if (w.weight > 0 && w.ok) {
                d += w.weight;
            } else if (w.weight < 0 && !w.ok) {
                d += w.weight;
            }
        }
        return d;
    }

    private void recompute() {
        describeNow();
        boolean fault = fault();
        int delta = delta();
        if (!told || fault != lastFault || delta != lastDelta) {
            told = true;
            lastFault = fault;
            lastDelta = delta;
            sink.tracked(fault, delta);
        }
    }

    /** One line per tracked thing for status: {@code track_script chk: FAILING (exit 1), weight -50 applied}. */
    List<String> describe() {
        return description;
    }

    /** Rebuilt on the tracker thread after every check, so status readers never wait for it. */
    private void describeNow() {
        List<String> out = new ArrayList<>();
        for (Watched w : watched) {
            out.add(w.kind + " " + w.name + ": " + (w.ok ? "ok" : "FAILING")
                    + (w.why.isEmpty() ? "" : " (" + w.why + ")")
                    + (w.ok == (w.weight > 0) && w.weight != 0 ? ", weight " + w.weight + " applied"
                    : !w.ok && w.weight == 0 ? ", FAULT" : ""));
        }
        description = List.copyOf(out);
    }

    @Override
    public void close() {
        exec.shutdownNow();
        for (Watched w : watched) {
            Process p = w.running;
            if (p != null) {
                p.destroyForcibly();
            }
        }
    }
}
