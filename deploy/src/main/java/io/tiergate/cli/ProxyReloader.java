package io.tiergate.cli;

import io.tiergate.proxy.ProxyNode;
import io.tiergate.proxy.config.ProxyConfig;
import io.tiergate.proxy.config.ProxyConfigDiff;
import io.tiergate.shared.admin.AdminServer;
import io.tiergate.shared.config.ConfigException;
import io.tiergate.shared.config.HostPort;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Function;

/**
 * Everything a proxy reload does, whatever triggered it (SIGHUP, {@code tiergate reload}, the file watch): validate
 * the file (an invalid one changes nothing), swap routes and upstreams, apply {@code logging}, {@code access_log},
 * move the admin endpoint, load renewed TLS certificates; then one line that says what changed and which changed keys
 * need a restart, and the reload counters. A second watch loads certificates renewed in place (same paths, new
 * contents) without a config change.
 */
final class ProxyReloader {
    private static final Logger log = LoggerFactory.getLogger(ProxyReloader.class);

    private final Path file;
    private final ProxyNode node;
    private final Function<HostPort, Future<AdminServer>> adminFactory;
    private final AtomicReference<AdminServer> admin;
    private TiergateConfig running; // guarded by this
    private volatile FileTime lastModified;
    private String lastCertProblem; // guarded by this: the watch says a broken renewal once, not every tick

    ProxyReloader(Path file, TiergateConfig first, ProxyNode node, AdminServer admin,
                  Function<HostPort, Future<AdminServer>> adminFactory) {
        this.file = file;
        this.running = first;
        this.node = node;
        this.admin = new AtomicReference<>(admin);
        this.adminFactory = adminFactory;
        this.lastModified = mtime();
    }

    /** The admin endpoint as it is now (a reload may have moved it), or null when off. */
    AdminServer admin() {
        return admin.get();
    }

    /** Re-reads the file and applies it. Blocks (file, DNS, binds): never on an event loop. */
    synchronized void reload() {
        lastModified = mtime();
        TiergateConfig next;
        try {
            next = TiergateConfig.load(file);
            if (next.proxy().isEmpty()) {
                throw new UserException(file + " has no 'proxy:' section", ExitCodes.CONFIG);
            }
        } catch (ConfigException e) {
            node.reloads().failed();
            node.events().error("reload", "reload rejected: " + io.tiergate.shared.admin.EventLog.summary(e.getMessage()));
            log.warn("reload rejected, still serving the previous config:\n{}", e.getMessage());
            return;
        } catch (UserException e) {
            node.reloads().failed();
            node.events().error("reload", "reload rejected: " + io.tiergate.shared.admin.EventLog.summary(e.getMessage()));
            log.warn("reload rejected, still serving the previous config: {}", e.getMessage());
            return;
        }
        ProxyConfig was = running.proxy().orElseThrow();
        ProxyConfig now = next.proxy().orElseThrow();
        ProxyConfigDiff diff = ProxyConfigDiff.of(was, now);
        ReloadReport out = new ReloadReport(diff.applied(), diff.needsRestart());
        out.sharedKeys(running, next);
        try {
            node.reload(now).toCompletionStage().toCompletableFuture().get(60, TimeUnit.SECONDS);
        } catch (Exception e) {
            node.reloads().failed();
            node.events().error("reload", "reload rejected: " + io.tiergate.shared.admin.EventLog.summary(e.getMessage()));
            log.error("reload failed, still serving the previous config: {}", ReloadReport.cause(e));
            return;
        }
        running = next;
        if (!Objects.equals(was.admin(), now.admin())) {
            moveAdmin(was.admin(), now.admin(), out.applied, out.failed);
        }
        certificates(out.applied, out.failed);
        out.log(log, node.reloads(), file);
    }

    private void moveAdmin(HostPort from, HostPort to, List<String> applied, List<String> failed) {
        AdminServer old = admin.get();
        try {
            AdminServer started = to == null ? null
                    : adminFactory.apply(to).toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
            admin.set(started);
            if (old != null) {
                old.close();
            }
            applied.add("admin " + (from == null ? "off" : from) + " -> "
                    + (to == null ? "off" : to.host() + ":" + started.port()));
        } catch (Exception e) {
            failed.add("admin stays on " + (from == null ? "off" : from) + " (cannot listen on " + to + ": "
                    + ReloadReport.cause(e) + ")");
        }
    }

    private void certificates(List<String> applied, List<String> failed) {
        try {
            applied.addAll(node.reloadCertificates().toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS));
        } catch (Exception e) {
            Throwable c = e.getCause() == null ? e : e.getCause();
            if (c instanceof ProxyNode.CertificateReloadException cr) {
                applied.addAll(cr.loaded());
            }
            failed.add(c.getMessage());
        }
    }

    /** How long the file must be left alone before the watch reads it, and the longest the watch waits for that. */
    static final Duration SETTLE = Duration.ofMillis(500);
    static final Duration SETTLE_MAX = Duration.ofSeconds(5);

    /**
     * The file watch: a changed modification time of the config file reloads it, once the file has not changed for
     * {@link #SETTLE}. A file caught while an editor or a deploy tool is still writing it would be read half-written:
     * rejected (or, cut at a line end, applied with servers missing) and then read again. A file that keeps changing
     * is read after {@link #SETTLE_MAX} anyway. Runs on a worker thread.
     */
    synchronized void checkFile() {
        FileTime now = mtime();
        if (now == null || now.equals(lastModified)) {
            return;
        }
        long giveUp = System.nanoTime() + SETTLE_MAX.toNanos();
        while (System.currentTimeMillis() - now.toMillis() < SETTLE.toMillis() && System.nanoTime() < giveUp) {
            try {
                Thread.sleep(50);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
            FileTime again = mtime();
            if (again != null) {
                now = again;
            }
        }
        reload();
    }

    /**
     * The certificate watch: TLS files whose contents changed are loaded (a certificate renewed at the same paths).
     * Separate from the file watch, so a service that applies its config only on SIGHUP (the systemd unit's
     * {@code --watch-interval 0}) still serves a renewed certificate without a hook. Runs on a worker thread.
     */
    synchronized void checkCertificates() {
        List<String> applied = new ArrayList<>();
        List<String> failed = new ArrayList<>();
        certificates(applied, failed);
        if (!applied.isEmpty()) {
            node.reloads().succeeded();
            log.info("reloaded: {}", String.join(", ", applied));
        }
        String problem = failed.isEmpty() ? null : String.join("; ", failed);
        if (problem != null && !problem.equals(lastCertProblem)) {
            node.reloads().failed();
            node.events().error("reload", "certificate files changed but cannot be loaded: " + problem);
            log.warn("certificate files changed but cannot be loaded: {}", problem);
        }
        lastCertProblem = problem;
    }

    /** Starts the file watch and the certificate watch (an interval of zero: that one is off). */
    void watch(Vertx vertx, Duration fileEvery, Duration certificatesEvery) {
        every(vertx, fileEvery, this::checkFile);
        every(vertx, certificatesEvery, this::checkCertificates);
    }

    private static void every(Vertx vertx, Duration every, Runnable check) {
        if (every.isZero()) {
            return;
        }
        vertx.setPeriodic(every.toMillis(), id -> {
            try {
                vertx.executeBlocking(() -> {
                    try {
                        check.run();
                    } catch (RuntimeException e) {
                        // a bug: say so with the stack trace (executeBlocking would swallow it)
                        log.error("config/certificate watch failed", e);
                    }
                    return null;
                }, false);
            } catch (java.util.concurrent.RejectedExecutionException stopping) {
                // A tick that fires while the proxy stops (the worker pool is already closed): nothing to watch.
                vertx.cancelTimer(id);
            }
        });
    }

    private FileTime mtime() {
        try {
            return Files.getLastModifiedTime(file);
        } catch (IOException e) {
            return null;
        }
    }
}
