package io.tiergate.cli;

import io.tiergate.proxy.ProxyNode;
import io.tiergate.proxy.config.ProxyConfig;
import io.tiergate.shared.config.ConfigException;
import io.tiergate.shared.logging.Logging;
import io.vertx.core.Vertx;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * {@code tiergate proxy -c FILE}: runs the L7 proxy until SIGTERM/SIGINT (graceful: in-flight requests get
 * {@code --drain} to finish). SIGHUP or a change of the file's modification time reloads it; an invalid new file is
 * rejected with every problem printed and the running config keeps serving.
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
        Vertx vertx = Vertx.vertx();
        ProxyNode node;
        try {
            node = ProxyNode.start(vertx, first).toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
        } catch (java.util.concurrent.ExecutionException e) {
            vertx.close();
            throw new UserException(e.getCause().getMessage(), ExitCodes.FAILURE);
        }
        for (int i = 0; i < first.listeners().size(); i++) {
            log("listening on " + first.listeners().get(i).address().host() + ":" + node.listenPorts().get(i)
                    + " (listener '" + first.listeners().get(i).name() + "', node " + first.nodeName() + ")");
        }
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
                } catch (Exception e) {
                    log("reload failed, still serving the previous config: " + e);
                }
            }
        };
        try {
            sun.misc.Signal.handle(new sun.misc.Signal("HUP"), s -> new Thread(reload, "tiergate-reload").start());
        } catch (IllegalArgumentException e) {
            log("SIGHUP is not available on this platform; reload by editing the file");
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
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            log("stopping: finishing in-flight requests for up to " + drain);
            try {
                node.shutdown(drainFor).toCompletionStage().toCompletableFuture()
                        .get(drainFor.toMillis() + 5000, TimeUnit.MILLISECONDS);
                vertx.close().toCompletionStage().toCompletableFuture().get(5, TimeUnit.SECONDS);
            } catch (Exception e) {
                log("shutdown did not complete cleanly: " + e);
            }
            stopped.countDown();
        }, "tiergate-shutdown"));
        stopped.await();
        return ExitCodes.OK;
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
