package io.tiergate.director.bgp;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.tiergate.director.engine.BgpStatus;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Supplier;

/**
 * Announces this director's VIPs through BIRD while it can serve them. Every {@link #POLL_MS} it asks what the
 * director can serve (a VIP whose service has a usable real server, nothing while the dataplane fails) and makes BIRD
 * announce exactly that, minus everything while drained or stopping. BIRD does the BGP and BFD; this class only
 * writes its config and tells it to reload.
 *
 * <p>In managed mode BIRD is our child, started under {@code setpriv --pdeathsig KILL}: when the director dies, so
 * does BIRD, its sessions drop, and the routers stop sending us flows (within the BFD detection time). In attached
 * mode the operator's BIRD keeps running; we only rewrite the routes file.
 */
public final class BgpSpeaker implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(BgpSpeaker.class);
    static final long POLL_MS = 100;
    private static final long SESSIONS_MS = 1000;

    /** What the director can serve now (prefixes); a failed future counts as "nothing". */
    public interface Servable extends Supplier<CompletableFuture<Set<String>>> {
    }

    private final BgpConfig config;
    private volatile List<String> prefixes;
    private final Servable servable;
    // All state below is touched on the bgp thread only, except the volatile snapshot fields.
    private final ScheduledExecutorService thread;
    private final Map<String, Boolean> announced = new LinkedHashMap<>();
    private final Map<String, String> reasons = new ConcurrentHashMap<>();
    private final Map<String, AtomicLong> announcedGauge = new ConcurrentHashMap<>();
    private final AtomicLong withdrawals = new AtomicLong();
    private volatile MeterRegistry registry;
    private volatile boolean drained;
    private volatile boolean stopping;
    private volatile List<BgpStatus.Session> sessions = List.of();
    private volatile String lastError = "";
    private Process bird;
    private long lastSessions;
    private Set<String> applied; // what BIRD was last told; null: never (or failed)

    private BgpSpeaker(BgpConfig config, List<String> prefixes, Servable servable) {
        this.config = config;
        this.prefixes = List.copyOf(prefixes);
        this.servable = servable;
        this.thread = Executors.newSingleThreadScheduledExecutor(r -> {
            // Long-lived on purpose: BIRD's parent-death signal fires when the thread that started it ends.
            Thread t = new Thread(r, "tiergate-director-bgp");
            t.setDaemon(true);
            return t;
        });
        prefixes.forEach(p -> reasons.put(p, "not announced yet"));
    }

    /**
     * Starts BIRD (managed) or checks the operator's socket (attached), announces nothing yet, and starts the poll.
     * Throws {@link BgpException} with a message naming the fix when BIRD cannot be started or reached.
     */
    public static BgpSpeaker start(BgpConfig config, List<String> prefixes, Servable servable, MeterRegistry registry)
            throws BgpException {
        BgpSpeaker s = new BgpSpeaker(config, prefixes, servable);
        s.registry = registry;
        prefixes.forEach(s::meters);
        try {
            s.thread.submit(() -> {
                s.startBird();
                return null;
            }).get();
        } catch (Exception e) {
            s.thread.shutdownNow();
            Throwable c = e.getCause() == null ? e : e.getCause();
            if (c instanceof BgpException be) {
                throw be;
            }
            throw new BgpException("bgp: " + c.getMessage(), c);
        }
        s.thread.scheduleWithFixedDelay(s::tick, 0, POLL_MS, TimeUnit.MILLISECONDS);
        log.info("director BGP: AS{} router id {}, neighbors {}, BFD {}, VIPs {} ({}); announced while servable",
                config.localAs(), config.routerId(), config.neighbors(), config.bfd().map(b -> b.interval().toMillis()
                        + " ms x " + b.multiplier()).orElse("off"), prefixes,
                config.bird().attached() ? "attached to " + config.bird().socket().get() : "BIRD run by tiergate");
        return s;
    }

    public static final class BgpException extends Exception {
        public BgpException(String message, Throwable cause) {
            super(message, cause);
        }
    }

    private Path socket() {
        return config.bird().socket().orElseGet(() -> BirdConf.socketFile(config.bird().runtimeDir()));
    }

    private void startBird() throws BgpException, IOException, InterruptedException {
        if (config.bird().attached()) {
            writeFile(config.bird().routesFile().get(), BirdConf.routes(config, List.of()));
            try {
                BirdControl.run(socket(), "configure");
            } catch (IOException e) {
                throw new BgpException("bgp: cannot reconfigure the BIRD at " + socket() + ": " + e.getMessage()
                        + " (is it running, and does its bird.conf include " + config.bird().routesFile().get() + "?)", e);
            }
            applied = Set.of();
            return;
        }
        Path dir = config.bird().runtimeDir();
        Files.createDirectories(dir);
        if (Files.exists(socket())) {
            try {
                BirdControl.run(socket(), "show status");
                throw new BgpException("bgp: a BIRD already answers on " + socket() + " (another director with the "
                        + "same bgp.bird.runtime_dir?); give each director its own runtime_dir", null);
            } catch (IOException stale) {
                Files.deleteIfExists(socket()); // left by a BIRD that died with its director
            }
        }
        if (!Files.isExecutable(config.bird().binary())) {
            throw new BgpException("bgp: " + config.bird().binary() + " is not executable (install BIRD 2: apt-get "
                    + "install bird2, or set bgp.bird.binary)", null);
        }
        writeFile(BirdConf.configFile(dir), BirdConf.full(config, List.of()));
        applied = Set.of();
        spawnBird();
    }

    private void spawnBird() throws BgpException, IOException, InterruptedException {
        Path dir = config.bird().runtimeDir();
        List<String> cmd = new ArrayList<>();
        if (config.bird().realtime() && Files.isExecutable(Path.of("/usr/bin/chrt")) && io.tiergate.director.Director.isRoot()) {
            // BFD at 100 ms x 3 must not miss three packets because JVMs hog the CPU (seen on a loaded 2-core host:
            // sessions flapped). Like keepalived's VRRP, BIRD runs SCHED_FIFO; it sleeps almost all the time.
            cmd.addAll(List.of("/usr/bin/chrt", "-f", "10"));
        }
        if (Files.isExecutable(Path.of("/usr/bin/setpriv"))) {
            cmd.addAll(List.of("/usr/bin/setpriv", "--pdeathsig", "KILL", "--"));
        } else {
            log.warn("bgp: /usr/bin/setpriv missing (util-linux): BIRD will outlive a crashed director and keep "
                    + "announcing");
        }
        cmd.addAll(List.of(config.bird().binary().toString(), "-f", "-c", BirdConf.configFile(dir).toString(),
                "-s", socket().toString(), "-P", BirdConf.pidFile(dir).toString()));
        Path logFile = BirdConf.logFile(dir);
        bird = new ProcessBuilder(cmd).redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(logFile.toFile())).start();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (System.nanoTime() < deadline) {
            if (!bird.isAlive()) {
                throw new BgpException("bgp: BIRD exited at start (code " + bird.exitValue() + "): "
                        + tail(logFile) + " (config " + BirdConf.configFile(dir) + ")", null);
            }
            try {
                BirdControl.run(socket(), "show status");
                log.info("bgp: BIRD running (pid {}), config {}, control socket {}", bird.pid(),
                        BirdConf.configFile(dir), socket());
                return;
            } catch (IOException notYet) {
                Thread.sleep(50);
            }
        }
        bird.destroyForcibly();
        throw new BgpException("bgp: BIRD did not open " + socket() + " within 10 s: " + tail(logFile), null);
    }

    private static String tail(Path file) {
        try {
            List<String> lines = Files.readAllLines(file, StandardCharsets.UTF_8);
            return String.join(" / ", lines.subList(Math.max(0, lines.size() - 3), lines.size()));
        } catch (IOException e) {
            return "(no log)";
        }
    }

    private static void writeFile(Path file, String text) throws IOException {
        Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
        Files.writeString(tmp, text, StandardCharsets.UTF_8);
        Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    }

    private void tick() {
        try {
            superviseBird();
            Set<String> want = new LinkedHashSet<>();
            Set<String> can = Set.of();
            if (!drained && !stopping) {
                try {
                    can = servable.get().get(2, TimeUnit.SECONDS);
                } catch (java.util.concurrent.TimeoutException busy) {
                    // The engine is in a long step (a big reload): no news is not bad news; keep what is announced.
                    return;
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return;
                } catch (Exception e) {
                    can = Set.of(); // the engine is closed or failed: nothing can be served
                }
                for (String p : prefixes) {
                    if (can.contains(p)) {
                        want.add(p);
                    }
                }
            }
            apply(want, can);
            for (String p : prefixes) {
                // Every tick, not only on a change: a VIP never servable since start must say why, too.
                if (!Boolean.TRUE.equals(announced.get(p)) || !want.contains(p)) {
                    reasons.put(p, applied == null ? "BIRD did not take the last change: " + lastError : why(p, can));
                }
            }
            long now = System.nanoTime();
            if (now - lastSessions > TimeUnit.MILLISECONDS.toNanos(SESSIONS_MS)) {
                lastSessions = now;
                sessions = readSessions();
            }
        } catch (RuntimeException e) {
            log.error("bgp: poll failed", e);
        }
    }

    private void superviseBird() {
        if (bird == null || bird.isAlive() || stopping) {
            return;
        }
        log.error("bgp: BIRD exited (code {}): {}; restarting it", bird.exitValue(),
                tail(BirdConf.logFile(config.bird().runtimeDir())));
        try {
            writeFile(BirdConf.configFile(config.bird().runtimeDir()), BirdConf.full(config, List.of()));
            applied = Set.of();
            spawnBird();
        } catch (Exception e) {
            lastError = "BIRD restart failed: " + e.getMessage();
            log.error("bgp: {}", lastError);
        }
    }

    /** Makes BIRD announce exactly {@code want}; one log line and metric update per VIP that changes. */
    private void apply(Set<String> want, Set<String> can) {
        if (want.equals(applied)) {
            return;
        }
        List<String> list = List.copyOf(want);
        try {
            if (config.bird().attached()) {
                writeFile(config.bird().routesFile().get(), BirdConf.routes(config, list));
            } else {
                writeFile(BirdConf.configFile(config.bird().runtimeDir()), BirdConf.full(config, list));
            }
            BirdControl.run(socket(), "configure");
            lastError = "";
        } catch (IOException e) {
            applied = null; // unknown: try again next tick
            if (!e.getMessage().equals(lastError)) {
                log.error("bgp: cannot apply the announcement {} to BIRD: {}", list, e.getMessage());
            }
            lastError = e.getMessage();
            return;
        }
        Set<String> all = new LinkedHashSet<>(prefixes);
        all.addAll(announced.keySet()); // a VIP a reload removed is withdrawn (and logged) like any other
        for (String p : all) {
            boolean now = want.contains(p);
            Boolean before = announced.put(p, now);
            String why = now ? "" : why(p, can);
            reasons.put(p, why);
            AtomicLong g = meters(p);
            g.set(now ? 1 : 0);
            if (before != null && before == now) {
                continue;
            }
            if (now) {
                log.info("bgp: announcing {}", p);
            } else if (before != null) {
                withdrawals.incrementAndGet();
                MeterRegistry r = registry;
                if (r != null) {
                    Counter.builder("tiergate_director_bgp_withdrawals").description("VIP withdrawals sent to BIRD")
                            .tag("vip", p).register(r).increment();
                }
                log.warn("bgp: withdrawing {}: {}", p, why);
            }
        }
        announced.keySet().retainAll(prefixes);
        applied = Set.copyOf(want);
    }

    private String why(String prefix, Set<String> can) {
        return !prefixes.contains(prefix) ? "no longer a service VIP (config reloaded)"
                : stopping ? "director stopping" : drained ? "drained (director drain --all)"
                : can.isEmpty() ? "the director cannot serve (no usable real server, or the dataplane failed)"
                : "no usable real server for this VIP";
    }

    private AtomicLong meters(String prefix) {
        return announcedGauge.computeIfAbsent(prefix, p -> {
            AtomicLong v = new AtomicLong();
            MeterRegistry r = registry;
            if (r != null) {
                Gauge.builder("tiergate_director_bgp_announced", v, AtomicLong::get)
                        .description("1 while this director announces the VIP over BGP").tag("vip", p).register(r);
                Counter.builder("tiergate_director_bgp_withdrawals").description("VIP withdrawals sent to BIRD")
                        .tag("vip", p).register(r);
            }
            return v;
        });
    }

    private List<BgpStatus.Session> readSessions() {
        List<BgpStatus.Session> out = new ArrayList<>();
        Map<String, String> bfd = new LinkedHashMap<>();
        List<BirdControl.Line> protocols;
        try {
            protocols = BirdControl.run(socket(), "show protocols all");
            if (config.bfd().isPresent() || config.bird().attached()) {
                for (BirdControl.Line l : BirdControl.run(socket(), "show bfd sessions")) {
                    String[] f = l.text().trim().split("\\s+");
                    if (f.length >= 3 && (f[0].indexOf('.') > 0 || f[0].indexOf(':') >= 0) && !f[0].endsWith(":")) {
                        bfd.put(f[0], f[2]);
                    }
                }
            }
        } catch (IOException e) {
            for (BgpConfig.Neighbor n : config.neighbors()) {
                out.add(new BgpStatus.Session(n.address(), n.remoteAs(), "unknown (" + e.getMessage() + ")", "-", -1));
            }
            return out;
        }
        for (Proto p : parseProtocols(protocols)) {
            if (!config.bird().attached() && !p.name.startsWith(BirdConf.NEIGHBOR_PREFIX)) {
                continue;
            }
            String address = p.address;
            long as = p.remoteAs;
            if (!config.bird().attached()) {
                try {
                    BgpConfig.Neighbor n = config.neighbors().get(
                            Integer.parseInt(p.name.substring(BirdConf.NEIGHBOR_PREFIX.length())) - 1);
                    address = n.address();
                    as = n.remoteAs();
                } catch (RuntimeException e) {
                    continue;
                }
            }
            String bfdState = config.bfd().isEmpty() && !config.bird().attached() ? "off"
                    : bfd.getOrDefault(address, "-");
            out.add(new BgpStatus.Session(address, as, p.state, bfdState, p.exported));
        }
        return List.copyOf(out);
    }

    private static final class Proto {
        String name;
        String state = "unknown";
        String address = "-";
        long remoteAs;
        long exported = -1;
    }

    /** The BGP protocols in a {@code show protocols all} reply. */
    static List<Proto> parseProtocols(List<BirdControl.Line> lines) {
        List<Proto> out = new ArrayList<>();
        Proto cur = null;
        for (BirdControl.Line l : lines) {
            String t = l.text().trim();
            if (l.code() == 1002 && !l.text().startsWith(" ")) {
                String[] f = t.split("\\s+");
                cur = null;
                if (f.length >= 2 && f[1].equals("BGP")) {
                    cur = new Proto();
                    cur.name = f[0];
                    out.add(cur);
                }
                continue;
            }
            if (cur == null) {
                continue;
            }
            if (t.startsWith("BGP state:")) {
                cur.state = t.substring("BGP state:".length()).trim();
            } else if (t.startsWith("Neighbor address:")) {
                cur.address = t.substring("Neighbor address:".length()).trim();
            } else if (t.startsWith("Neighbor AS:")) {
                try {
                    cur.remoteAs = Long.parseLong(t.substring("Neighbor AS:".length()).trim());
                } catch (NumberFormatException ignored) {
                    // left 0
                }
            } else if (t.startsWith("Routes:")) {
                java.util.regex.Matcher m = java.util.regex.Pattern.compile("(\\d+) exported").matcher(t);
                if (m.find()) {
                    cur.exported = Math.max(0, cur.exported) + Long.parseLong(m.group(1));
                }
            }
        }
        return out;
    }

    /** {@code tiergate director drain --all}: withdraw every VIP (established flows move to the other directors). */
    public CompletableFuture<Void> drainAll() {
        drained = true;
        return CompletableFuture.runAsync(this::tick, thread);
    }

    /** Undo {@link #drainAll()}: announce again what this director can serve. */
    public CompletableFuture<Void> enableAll() {
        drained = false;
        return CompletableFuture.runAsync(this::tick, thread);
    }

    /** A reload: the VIP set follows the services (a removed service's VIP is withdrawn on the next poll). */
    public void prefixes(List<String> next) {
        next.forEach(p -> reasons.putIfAbsent(p, "not announced yet"));
        thread.execute(() -> {
            prefixes = List.copyOf(next);
            next.forEach(this::meters);
            reasons.keySet().removeIf(p -> !next.contains(p));
            applied = null; // re-apply with the new set; apply() withdraws what left
        });
    }

    public BgpConfig config() {
        return config;
    }

    public BgpStatus status() {
        List<BgpStatus.Vip> vips = new ArrayList<>();
        for (String p : prefixes) {
            String why = reasons.getOrDefault(p, "");
            boolean on = announcedGauge.getOrDefault(p, new AtomicLong()).get() == 1;
            vips.add(new BgpStatus.Vip(p, on, on ? "" : why));
        }
        return new BgpStatus(config.bird().attached() ? "attached" : "managed", config.localAs(), config.routerId(),
                sessions, List.copyOf(vips), drained, withdrawals.get(), lastError);
    }

    /**
     * Withdraws every VIP and waits {@code convergence_delay} so the routers move the flows to the other directors
     * before this one stops forwarding; the caller stops the dataplane afterwards.
     */
    public void withdrawForShutdown() {
        stopping = true;
        try {
            CompletableFuture.runAsync(this::tick, thread).get(5, TimeUnit.SECONDS);
            log.info("bgp: every VIP withdrawn; waiting convergence_delay {} ms before forwarding stops",
                    config.convergenceDelay().toMillis());
            Thread.sleep(config.convergenceDelay().toMillis());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (Exception e) {
            log.error("bgp: withdrawal at shutdown failed: {}", e.toString());
        }
    }

    /** Stops the poll and, in managed mode, BIRD (its sessions close with a Cease, so routers react at once). */
    @Override
    public void close() {
        stopping = true;
        try {
            thread.submit(() -> {
                if (bird != null && bird.isAlive()) {
                    bird.destroy();
                    try {
                        if (!bird.waitFor(3, TimeUnit.SECONDS)) {
                            bird.destroyForcibly();
                        }
                    } catch (InterruptedException e) {
                        bird.destroyForcibly();
                        Thread.currentThread().interrupt();
                    }
                }
            }).get(5, TimeUnit.SECONDS);
        } catch (Exception e) {
            log.warn("bgp: stopping BIRD: {}", e.toString());
        }
        thread.shutdownNow();
    }
}
