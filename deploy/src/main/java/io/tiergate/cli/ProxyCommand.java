package io.tiergate.cli;

import io.tiergate.cli.dr.RealServerSetup;
import io.tiergate.proxy.ProxyNode;
import io.tiergate.proxy.admin.CacheAdmin;
import io.tiergate.proxy.admin.ProxyAdmin;
import io.tiergate.proxy.config.ProxyConfig;
import io.tiergate.shared.admin.AdminServer;
import io.tiergate.shared.config.HostPort;
import io.tiergate.shared.logging.Logging;
import io.tiergate.shared.metrics.Metrics;
import io.vertx.core.Vertx;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import io.tiergate.shared.config.Units;
import io.tiergate.shared.signal.Signals;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code tiergate proxy -c FILE}: runs the L7 proxy until SIGTERM/SIGINT (graceful: in-flight requests get
 * {@code --drain} to finish, then exit 0). SIGHUP or a change of the file's modification time reloads it
 * ({@link ProxyReloader}); an invalid new file is rejected with every problem printed (FILE:LINE:COL) and the running
 * config keeps serving. TLS certificates renewed at the same paths are loaded by their own watch
 * ({@code --cert-watch-interval}), which keeps running when the file watch is off.
 *
 * <p>With {@code dr: {vips: [...]}} the node is a direct-routing real server: as root the VIPs and ARP sysctls are
 * set up before listening and undone on stop; without root, if anything is missing, the commands are printed and it
 * exits 77 rather than start silently broken (the director's traffic would be answered by nobody).
 */
@Command(name = "proxy", mixinStandardHelpOptions = true,
        description = "Run the L7 HTTP reverse proxy.",
        footer = {"", "Signals: HUP reloads the config, USR1 reopens the access log, TERM/INT stop gracefully (exit 0).", "",
            "Examples:", "  tiergate proxy -c deploy/examples/proxy.yaml --pid-file /run/tiergate/proxy.pid",
            "  tiergate proxy -t -c deploy/examples/proxy.yaml      check the config, like nginx -t",
            "  tiergate reload --pid-file /run/tiergate/proxy.pid   reload the running proxy (SIGHUP)"})
final class ProxyCommand implements java.util.concurrent.Callable<Integer> {
    private static final Logger LOG = LoggerFactory.getLogger("tiergate.proxy");

    @Option(names = {"-c", "--config"}, required = true, paramLabel = "FILE", description = "Config file with a proxy: section.")
    Path config;

    @Option(names = "--drain", defaultValue = "30s", paramLabel = "DURATION",
            description = "How long in-flight requests may finish on shutdown (default: ${DEFAULT-VALUE}).")
    String drain;

    @Option(names = "--watch-interval", defaultValue = "2s", paramLabel = "DURATION",
            description = "How often the config file's modification time is checked (a change reloads it); 0 disables:"
                    + " only SIGHUP reloads (default: ${DEFAULT-VALUE}).")
    String watchInterval;

    @Option(names = "--cert-watch-interval", defaultValue = "2s", paramLabel = "DURATION",
            description = "How often the TLS listeners' certificate and key files are read for a renewal (new contents"
                    + " at the same paths are loaded in place); 0 disables (default: ${DEFAULT-VALUE}).")
    String certWatchInterval;

    @Option(names = {"-t", "--test"}, description = "Check the config and exit, like nginx -t (same as `tiergate config check`).")
    boolean test;

    @picocli.CommandLine.Mixin
    PidFile pidFile;

    @picocli.CommandLine.Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        if (test) {
            return ConfigCommand.check(config, "proxy", spec.commandLine().getOut());
        }
        Duration drainFor = parse(drain, "--drain");
        Duration watch = parse(watchInterval, "--watch-interval");
        Duration certWatch = parse(certWatchInterval, "--cert-watch-interval");
        TiergateConfig firstFile = loadFile();
        ProxyConfig first = firstFile.proxy().get();
        // Before anything logs: without it the shaded jar's Logback would run with its defaults.
        Logging.configure(firstFile.logging().format(), firstFile.logging().level());
        // Before anything is set up: a TERM or Ctrl-C during the start is kept and handled once the node runs (a clean
        // stop that undoes the DR set-up below), not left to the JVM's default action (exit 143, nothing undone).
        StopSignal stop = StopSignal.install();

        RealServerSetup dr = null;
        if (!first.drVips().isEmpty()) {
            dr = new RealServerSetup(first.drVips(), first.drTunnel().enabled() ? first.drTunnel().mtu() : 0);
            if ("root".equals(System.getProperty("user.name"))) {
                try {
                    dr.apply();
                } catch (IllegalStateException e) {
                    dr.undo();
                    throw new UserException("dr: " + e.getMessage(), ExitCodes.FAILURE);
                }
                log((dr.tunnel() ? "tunnel (IPIP) real server for " : "direct-routing real server for ")
                        + String.join(", ", first.drVips()) + " (" + dr.describe() + "; undone on stop)");
            } else {
                List<String> missing = dr.missing();
                if (!missing.isEmpty()) {
                    throw new UserException("this node is a " + (dr.tunnel() ? "tunnel" : "DR") + " real server for "
                            + String.join(", ", first.drVips())
                            + " but " + String.join("; ", missing) + ". Run these as root (or run tiergate as root):\n  "
                            + String.join("\n  ", dr.commands()), ExitCodes.NO_PERMISSION);
                }
                dr = null; // set up by the operator: not ours to undo
            }
        }

        Vertx vertx = io.tiergate.shared.runtime.Runtimes.vertx();
        Metrics metrics = new Metrics(Map.of("tier", "proxy", "node", first.nodeName()),
                firstFile.metrics().latencyBuckets());
        AtomicBoolean ready = new AtomicBoolean();
        ProxyNode node;
        AdminServer admin = null;
        java.util.function.Function<HostPort, io.vertx.core.Future<AdminServer>> adminAt;
        try {
            node = ProxyNode.start(vertx, first, metrics.registry()).toCompletionStage().toCompletableFuture()
                    .get(30, TimeUnit.SECONDS);
            ProxyAdmin pages = ProxyAdmin.start(vertx, node, metrics.registry());
            adminAt = a -> AdminServer.start(vertx, a.host(), a.port(), metrics, ready::get, pages.routes(),
                    first.adminAccess());
            if (first.admin() != null) {
                admin = adminAt.apply(first.admin()).toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
            }
        } catch (java.util.concurrent.ExecutionException e) {
            vertx.close();
            if (dr != null) {
                dr.undo();
            }
            throw new UserException(e.getCause().getMessage(), ExitCodes.FAILURE);
        }
        // The handlers are in place before the node says it listens and /readyz says 200: a HUP sent by whoever waited
        // for either (a supervisor, a deploy script, a test) is handled, not lost (ignored, as inherited from nohup).
        ProxyReloader reloader = new ProxyReloader(config, firstFile, node, admin, adminAt);
        Signals.handle("HUP", reloader::reload);
        Signals.handle("USR1", () -> {
            node.reopenLogs();
            log("SIGUSR1: reopening log files");
        });
        log(io.tiergate.shared.runtime.Runtimes.describe(vertx));
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
        reloader.watch(vertx, watch, certWatch);
        pidFile.write();
        String signal = stop.await();
        pidFile.remove();
        ready.set(false); // a director's health check sees /readyz fail while we drain
        log(signal + ": stopping: finishing in-flight requests for up to " + Units.format(drainFor));
        int code = ExitCodes.OK;
        try {
            node.shutdown(drainFor).toCompletionStage().toCompletableFuture()
                    .get(drainFor.toMillis() + 5000, TimeUnit.MILLISECONDS);
            if (reloader.admin() != null) {
                reloader.admin().close().toCompletionStage().toCompletableFuture().get(5, TimeUnit.SECONDS);
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

    private TiergateConfig loadFile() {
        TiergateConfig cfg = TiergateConfig.load(config);
        if (cfg.proxy().isEmpty()) {
            throw new UserException(config + " has no 'proxy:' section", ExitCodes.CONFIG);
        }
        return cfg;
    }

    private static Duration parse(String text, String option) {
        try {
            return io.tiergate.shared.config.Units.parseDuration(text);
        } catch (IllegalArgumentException e) {
            throw new UserException(option + ": " + e.getMessage() + " (expected: "
                    + io.tiergate.shared.config.Units.DURATION_EXPECTED + ")", ExitCodes.USAGE);
        }
    }

    /** Through the configured logging (text or JSON), so a JSON log holds only JSON lines. */
    private static void log(String msg) {
        LOG.info(msg);
    }
}
