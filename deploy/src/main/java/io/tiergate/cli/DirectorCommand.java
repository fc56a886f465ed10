package io.tiergate.cli;

import io.tiergate.director.Director;
import io.tiergate.director.admin.StatusTable;
import io.tiergate.director.config.DirectorConfig;
import io.tiergate.director.dataplane.DataplaneException;
import io.tiergate.director.engine.DirectorStatus;
import io.tiergate.shared.config.HostPort;
import io.tiergate.shared.logging.Logging;
import io.vertx.core.Vertx;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.io.IOException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;

/**
 * {@code tiergate director -c FILE} runs the director; {@code status}, {@code drain} and {@code enable} talk to a
 * running one through its admin API.
 */
@Command(name = "director", mixinStandardHelpOptions = true,
        description = "Run the L4 director (LVS-style: VIPs, real servers, health checks), or talk to a running one.",
        subcommands = {DirectorCommand.Status.class, DirectorCommand.Drain.class, DirectorCommand.Enable.class},
        footer = {"", "Examples:",
            "  sudo tiergate director -c deploy/examples/director.yaml",
            "  tiergate director status --stats",
            "  tiergate director drain web 10.0.0.11:80"})
final class DirectorCommand implements Callable<Integer> {
    @Option(names = {"-c", "--config"}, paramLabel = "FILE", description = "Config file with a director: section.")
    Path config;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        if (config == null) {
            throw new CommandLine.ParameterException(spec.commandLine(), "Missing required option: '--config=FILE'");
        }
        TiergateConfig cfg = TiergateConfig.load(config);
        DirectorConfig dc = cfg.director().orElseThrow(() ->
                new UserException(config + " has no 'director:' section", ExitCodes.CONFIG));
        Logging.configure(cfg.logging().format(), cfg.logging().level());
        Vertx vertx = Vertx.vertx();
        Director director;
        try {
            director = Director.start(vertx, dc);
        } catch (DataplaneException e) {
            vertx.close();
            throw new UserException(e.getMessage(), ExitCodes.FAILURE);
        }
        Object reloadLock = new Object();
        Runnable reload = () -> {
            synchronized (reloadLock) {
                reload(director);
            }
        };
        try {
            sun.misc.Signal.handle(new sun.misc.Signal("HUP"), s -> new Thread(reload, "tiergate-reload").start());
        } catch (IllegalArgumentException e) {
            log("SIGHUP is not available on this platform; restart to change the config");
        }
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            // Kernel state stays: a restarted director finds it and changes nothing.
            director.close();
            vertx.close();
            stopped.countDown();
        }, "tiergate-director-stop"));
        spec.commandLine().getOut().println("tiergate director running, dataplane " + director.status().dataplane()
                + " (" + director.status().dataplaneReason() + ")"
                + (director.adminPort() > 0 ? ", admin on port " + director.adminPort() : ""));
        spec.commandLine().getOut().flush();
        stopped.await();
        return ExitCodes.OK;
    }

    /**
     * SIGHUP: re-reads the file; a valid one becomes the running config in one engine step (established flows stay:
     * the engine changes only what differs). An invalid one is rejected with every FILE:LINE:COL problem and the
     * director keeps running the previous config.
     */
    void reload(Director director) {
        try {
            TiergateConfig cfg = TiergateConfig.load(config);
            DirectorConfig next = cfg.director().orElseThrow(() ->
                    new UserException(config + " has no 'director:' section", ExitCodes.CONFIG));
            var report = director.reload(next);
            if (report.error() != null) {
                log("reloaded " + config + ", but the dataplane change failed (will retry): " + report.error());
            } else {
                log("reloaded " + config + ": " + report.upserts() + " service(s) changed, " + report.deletes()
                        + " removed");
            }
        } catch (io.tiergate.shared.config.ConfigException | UserException e) {
            log("reload rejected, still running the previous config:\n" + e.getMessage());
            director.events().error("reload", "reload rejected, the previous config keeps running: "
                            + io.tiergate.shared.admin.EventLog.summary(e.getMessage()));
        } catch (RuntimeException e) {
            log("reload failed, still running the previous config: " + e);
        }
    }

    private void log(String line) {
        spec.commandLine().getOut().println("tiergate director: " + line);
        spec.commandLine().getOut().flush();
    }

    /**
     * Where the running director's admin API is (--admin, else the config's director.admin, else the default) and how
     * to authenticate (--token-file, $TIERGATE_ADMIN_TOKEN, or the config's admin_auth; see {@link AdminEndpoint}).
     */
    static final class AdminTarget {
        @Option(names = "--admin", paramLabel = "HOST:PORT", description = "Admin address of the running director (default 127.0.0.1:9180).")
        String admin;

        @Option(names = {"-c", "--config"}, paramLabel = "FILE", description = "Read the admin address and credentials from this config.")
        Path config;

        @CommandLine.ArgGroup(exclusive = false)
        AdminEndpoint.Options credentials;

        private AdminEndpoint endpoint;

        AdminEndpoint endpoint() {
            if (endpoint == null) {
                HostPort hp = DirectorConfig.DEFAULT_ADMIN;
                io.tiergate.shared.admin.AdminAccess access = io.tiergate.shared.admin.AdminAccess.OPEN;
                if (config != null) {
                    DirectorConfig dc = TiergateConfig.load(config).director().orElseThrow(() ->
                            new UserException(config + " has no 'director:' section", ExitCodes.CONFIG));
                    hp = dc.admin().orElseThrow(() ->
                            new UserException(config + " has no director admin endpoint (director.admin is off)", ExitCodes.CONFIG));
                    access = dc.adminAccess();
                }
                AdminEndpoint.Options c = credentials == null ? new AdminEndpoint.Options() : credentials;
                endpoint = c.endpoint("director", hp, admin, access);
            }
            return endpoint;
        }

        String base() {
            return endpoint().base() + "/api";
        }

        HttpResponse<String> send(HttpRequest.Builder req) {
            return endpoint().send(req);
        }

        DirectorStatus status() {
            HttpResponse<String> r = send(HttpRequest.newBuilder(URI.create(base() + "/status")));
            if (r.statusCode() != 200) {
                throw new UserException("the director answered " + r.statusCode() + ": " + r.body().trim(), ExitCodes.FAILURE);
            }
            try {
                return StatusTable.parse(r.body());
            } catch (IOException e) {
                throw new IllegalStateException("unreadable status from the director: " + e.getMessage(), e);
            }
        }
    }

    @Command(name = "status", mixinStandardHelpOptions = true,
            description = "Print services and real servers like ipvsadm -Ln.",
            footer = {"", "Examples:", "  tiergate director status", "  tiergate director status --stats",
                "  tiergate director status --rate"})
    static final class Status implements Callable<Integer> {
        @CommandLine.Mixin
        AdminTargetMixin target;

        @Option(names = "--stats", description = "Connections, packets and bytes (like ipvsadm --stats).")
        boolean stats;

        @Option(names = "--rate", description = "Per-second rates over one second (like ipvsadm --rate).")
        boolean rate;

        @CommandLine.Spec
        CommandLine.Model.CommandSpec spec;

        @Override
        public Integer call() throws Exception {
            DirectorStatus st = target.t.status();
            String out;
            if (rate) {
                long t0 = System.nanoTime();
                Thread.sleep(1000);
                DirectorStatus st2 = target.t.status();
                out = StatusTable.rate(st, st2, (System.nanoTime() - t0) / 1e9);
            } else {
                out = stats ? StatusTable.stats(st) : StatusTable.list(st);
            }
            spec.commandLine().getOut().print(out);
            spec.commandLine().getOut().flush();
            return ExitCodes.OK;
        }
    }

    /** picocli mixins must be their own class; this one carries {@link AdminTarget}'s options. */
    static final class AdminTargetMixin {
        @CommandLine.ArgGroup(exclusive = false)
        AdminTarget t = new AdminTarget();
    }

    abstract static class Operate implements Callable<Integer> {
        @Parameters(index = "0", paramLabel = "SERVICE", description = "Service name from the config.")
        String service;

        @Parameters(index = "1", paramLabel = "RS", description = "Real server as configured (host:port) or address:port.")
        String realServer;

        @CommandLine.Mixin
        AdminTargetMixin target;

        @CommandLine.Spec
        CommandLine.Model.CommandSpec spec;

        abstract String action();

        @Override
        public Integer call() {
            String url = target.t.base() + "/services/" + enc(service) + "/real-servers/" + enc(realServer) + "/" + action();
            HttpResponse<String> r = target.t.send(HttpRequest.newBuilder(URI.create(url))
                    .POST(HttpRequest.BodyPublishers.noBody()));
            if (r.statusCode() == 404) {
                String msg = r.body();
                int i = msg.indexOf("\"error\"");
                if (i >= 0) {
                    msg = msg.substring(msg.indexOf(':', i) + 1).replaceAll("[\"{}\\n]", "").trim();
                }
                throw new UserException(msg, ExitCodes.USAGE);
            }
            if (r.statusCode() != 200) {
                throw new UserException("the director answered " + r.statusCode() + ": " + r.body().trim(), ExitCodes.FAILURE);
            }
            spec.commandLine().getOut().println(action().equals("drain")
                    ? realServer + " in " + service + " drained: weight 0 for new connections, established ones continue"
                    : realServer + " in " + service + " enabled: back to its configured weight");
            return ExitCodes.OK;
        }

        private static String enc(String s) {
            return URLEncoder.encode(s, StandardCharsets.UTF_8).replace("+", "%20");
        }
    }

    @Command(name = "drain", mixinStandardHelpOptions = true,
            description = "Set a real server's weight to 0: no new connections, established ones continue.",
            footer = {"", "Example:", "  tiergate director drain web 10.0.0.11:80"})
    static final class Drain extends Operate {
        @Override
        String action() {
            return "drain";
        }
    }

    @Command(name = "enable", mixinStandardHelpOptions = true,
            description = "Undo drain: the real server gets its configured weight back.",
            footer = {"", "Example:", "  tiergate director enable web 10.0.0.11:80"})
    static final class Enable extends Operate {
        @Override
        String action() {
            return "enable";
        }
    }
}
