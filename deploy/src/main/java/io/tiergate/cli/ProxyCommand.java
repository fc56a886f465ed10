package io.tiergate.cli;

import io.tiergate.cli.dr.RealServerSetup;
import io.tiergate.proxy.ProxyNode;
import io.tiergate.proxy.admin.CacheAdmin;
import io.tiergate.proxy.admin.ProxyAdmin;
import io.tiergate.proxy.config.ProxyConfig;
import io.tiergate.shared.config.ConfigException;
import io.tiergate.shared.config.HostPort;
import io.tiergate.shared.logging.Logging;
import io.tiergate.shared.metrics.Metrics;
import io.vertx.core.Vertx;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * {@code tiergate proxy -c FILE}: runs the L7 proxy until SIGTERM/SIGINT (graceful: in-flight requests get
 * {@code --drain} to finish, then exit 0). SIGHUP or a change of the file's modification time reloads it; an invalid
 * new file is rejected with every problem printed (FILE:LINE:COL) and the running config keeps serving.
 *
 * <p>With {@code dr: {vips: [...]}} the node is a direct-routing real server: as root the VIPs and ARP sysctls are
 * set up before listening and undone on stop; without root, if anything is missing, the commands are printed and it
 * exits 77 rather than start silently broken (the director's traffic would be answered by nobody).
 */
@Command(name = "proxy", mixinStandardHelpOptions = true,
        description = "Run the L7 HTTP reverse proxy.",
        footer = {"", "Signals: HUP reloads the config, TERM/INT stop gracefully.", "",
            "Example:", "  tiergate proxy -c deploy/examples/proxy.yaml"})
final class ProxyCommand implements java.util.concurrent.Callable<Integer> {
    @Option(names = {"-c", "--config"}, required = true, paramLabel = "FILE", description = "Config file with a proxy: section.")
    Path config;

    @Option(names = "--drain", defaultValue = "30s", paramLabel = "DURATION",
            description = "How long in-flight requests may finish on shutdown (default: ${DEFAULT-VALUE}).")
    String drain;

    @Option(names = "--watch-interval", defaultValue = "2s", paramLabel = "DURATION",
            description = "How often the config file's modification time is checked; 0 disables (default: ${DEFAULT-VALUE}).")
    String watchInterval;

    private volatile FileTime lastModified;

    @Override
    public Integer call() throws Exception {
        Duration drainFor = parse(drain, "--drain");
        Duration watch = parse(watchInterval, "--watch-interval");
        TiergateConfig firstFile = loadFile();
        ProxyConfig first = firstFile.proxy().get();
        // Before anything logs: without it the shaded jar's Logback would run with its defaults.
        Logging.configure(firstFile.logging().format(), firstFile.logging().level());
        lastModified = mtime();

        RealServerSetup dr = null;
        if (!first.drVips().isEmpty()) {
            dr = new RealServerSetup(first.drVips());
            if ("root".equals(System.getProperty("user.name"))) {
                dr.apply();
                log("direct-routing real server for " + String.join(", ", first.drVips())
                        + " (VIP on lo, arp_ignore=1, arp_announce=2; undone on stop)");
            } else {
                List<String> missing = dr.missing();
                if (!missing.isEmpty()) {
                    throw new UserException("this node is a DR real server for " + String.join(", ", first.drVips())
                            + " but " + String.join("; ", missing) + ". Run these as root (or run tiergate as root):\n  "
                            + String.join("\n  ", dr.commands()), ExitCodes.NO_PERMISSION);
                }
                dr = null; // set up by the operator: not ours to undo
            }
        }

        Vertx vertx = Vertx.vertx();
        Metrics metrics = new Metrics(Map.of("tier", "proxy", "node", first.nodeName()));
        AtomicBoolean ready = new AtomicBoolean();
        ProxyNode node;
        ProxyAdmin.Endpoint admin = null;
        try {
            node = ProxyNode.start(vertx, first, metrics.registry()).toCompletionStage().toCompletableFuture()
                    .get(30, TimeUnit.SECONDS);
            HostPort a = first.admin();
            if (a != null) {
                admin = ProxyAdmin.serve(vertx, node, metrics, a, first.adminAccess(), ready::get)
                        .toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
            }
        } catch (java.util.concurrent.ExecutionException e) {
            vertx.close();
            if (dr != null) {
                dr.undo();
            }
            throw new UserException(e.getCause().getMessage(), ExitCodes.FAILURE);
        }
        for (int i = 0; i < first.listeners().size(); i++) {
            log("listening on " + first.listeners().get(i).address().host() + ":" + node.listenPorts().get(i)
                    + " (listener '" + first.listeners().get(i).name() + "', node " + first.nodeName() + ")");
        }
        if (admin != null) {
            log("admin on " + first.admin().host() + ":" + admin.port() + " ("
                    + (first.adminAccess().tls().isPresent() ? "https; " : "") + "status page /, /api, /metrics, /healthz, "
                    + "/readyz, " + CacheAdmin.PURGE_PATH
                    + (first.adminAccess().authConfigured() ? "; credentials required to change anything" : "") + ")");
        }
        ready.set(true);

        Object reloadLock = new Object();
        Runnable reload = () -> {
            synchronized (reloadLock) {
                try {
                    lastModified = mtime();
                    ProxyConfig next = load();
                    node.reload(next).toCompletionStage().toCompletableFuture().get(60, TimeUnit.SECONDS);
                    log("reloaded " + config);
                } catch (ConfigException e) {
                    log("reload rejected, still serving the previous config:\n" + e.getMessage());
                    node.events().error("reload", "reload rejected, the previous config keeps running: "
                            + io.tiergate.shared.admin.EventLog.summary(e.getMessage()));
                } catch (UserException e) {
                    log("reload rejected, still serving the previous config: " + e.getMessage());
                    node.events().error("reload", "reload rejected, the previous config keeps running: "
                            + io.tiergate.shared.admin.EventLog.summary(e.getMessage()));
                } catch (Exception e) {
                    log("reload failed, still serving the previous config: " + e);
                }
            }
        };
        CountDownLatch stop = new CountDownLatch(1);
        try {
            sun.misc.Signal.handle(new sun.misc.Signal("HUP"), s -> new Thread(reload, "tiergate-reload").start());
            // Handled here rather than by a shutdown hook so a graceful stop exits 0, not 143.
            sun.misc.Signal.handle(new sun.misc.Signal("TERM"), s -> stop.countDown());
            sun.misc.Signal.handle(new sun.misc.Signal("INT"), s -> stop.countDown());
        } catch (IllegalArgumentException e) {
            log("signals are not available on this platform; reload by editing the file");
        }
        if (!watch.isZero()) {
            vertx.setPeriodic(watch.toMillis(), id -> {
                FileTime now = mtime();
                if (now != null && !now.equals(lastModified)) {
                    lastModified = now;
                    vertx.executeBlocking(() -> {
                        reload.run();
                        return null;
                    });
                }
            });
        }
        stop.await();
        ready.set(false); // a director's health check sees /readyz fail while we drain
        log("stopping: finishing in-flight requests for up to " + drain);
        int code = ExitCodes.OK;
        try {
            node.shutdown(drainFor).toCompletionStage().toCompletableFuture()
                    .get(drainFor.toMillis() + 5000, TimeUnit.MILLISECONDS);
            if (admin != null) {
                admin.close().toCompletionStage().toCompletableFuture().get(5, TimeUnit.SECONDS);
            }
            vertx.close().toCompletionStage().toCompletableFuture().get(5, TimeUnit.SECONDS);
        } catch (Exception e) {
            log("shutdown did not complete cleanly: " + e);
            code = ExitCodes.FAILURE;
        } finally {
            metrics.close();
            if (dr != null) {
                dr.undo();
            }
        }
        log("stopped");
        return code;
    }

    private ProxyConfig load() {
        return loadFile().proxy().get();
    }

    private TiergateConfig loadFile() {
        TiergateConfig cfg = TiergateConfig.load(config);
        if (cfg.proxy().isEmpty()) {
            throw new UserException(config + " has no 'proxy:' section", ExitCodes.CONFIG);
        }
        return cfg;
    }

    private FileTime mtime() {
        try {
            return Files.getLastModifiedTime(config);
        } catch (IOException e) {
            return null;
        }
    }

    private static Duration parse(String text, String option) {
        try {
            return io.tiergate.shared.config.Units.parseDuration(text);
        } catch (IllegalArgumentException e) {
            throw new UserException(option + ": " + e.getMessage() + " (expected: "
                    + io.tiergate.shared.config.Units.DURATION_EXPECTED + ")", ExitCodes.USAGE);
        }
    }

    private static void log(String msg) {
        System.err.println("tiergate proxy: " + msg);
    }
}
