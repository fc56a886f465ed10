package io.tiergate.cli;

import io.tiergate.director.Director;
import io.tiergate.director.admin.StatusTable;
import io.tiergate.director.config.DirectorConfig;
import io.tiergate.director.dataplane.DataplaneException;
import io.tiergate.director.dataplane.PrivilegeException;
import io.tiergate.shared.signal.Signals;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
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
import java.util.concurrent.TimeUnit;

/**
 * {@code tiergate director -c FILE} runs the director; {@code status}, {@code drain} and {@code enable} talk to a
 * running one through its admin API.
 */
@Command(name = "director", mixinStandardHelpOptions = true,
        description = "Run the L4 director (LVS-style: VIPs, real servers, health checks), or talk to a running one.",
        subcommands = {DirectorCommand.Status.class, DirectorCommand.Drain.class, DirectorCommand.Enable.class},
        footer = {"", "Examples:",
            "  sudo tiergate director -c deploy/examples/director.yaml --pid-file /run/tiergate/director.pid",
            "  tiergate director -t -c deploy/examples/director.yaml     check the config, like nginx -t",
            "  tiergate reload --pid-file /run/tiergate/director.pid     reload the running director (SIGHUP)",
            "  tiergate director status --stats",
            "  tiergate director drain web 10.0.0.11:80"})
final class DirectorCommand implements Callable<Integer> {
    private static final Logger LOG = LoggerFactory.getLogger("tiergate.director");

    @Option(names = {"-c", "--config"}, paramLabel = "FILE", description = "Config file with a director: section.")
    Path config;

    @Option(names = {"-t", "--test"}, description = "Check the config and exit, like nginx -t (same as `tiergate config check`).")
    boolean test;

    @CommandLine.Mixin
    PidFile pidFile;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        if (config == null) {
            throw new CommandLine.ParameterException(spec.commandLine(), "Missing required option: '--config=FILE'");
        }
        if (test) {
            return ConfigCommand.check(config, "director", spec.commandLine().getOut());
        }
        TiergateConfig cfg = TiergateConfig.load(config);
        DirectorConfig dc = cfg.director().orElseThrow(() ->
                new UserException(config + " has no 'director:' section", ExitCodes.CONFIG));
        Logging.configure(cfg.logging().format(), cfg.logging().level());
        // Before the dataplane is programmed: a TERM or Ctrl-C during the start is kept and handled once the director
        // runs (a clean stop), not left to the JVM's default action (exit 143, nothing withdrawn).
        StopSignal stop = StopSignal.install();
        Vertx vertx = io.tiergate.shared.runtime.Runtimes.vertx();
        Director director;
        try {
            director = Director.start(vertx, dc);
        } catch (DataplaneException e) {
            vertx.close();
            // One line, through the configured log format; then the exit code says why (77: missing privilege).
            LOG.error("cannot start: {}", e.getMessage());
            return e instanceof PrivilegeException ? ExitCodes.NO_PERMISSION : ExitCodes.FAILURE;
        }
        DirectorReloader reloader = new DirectorReloader(config, cfg, director);
        Runnable reload = reloader::reload;
        Signals.handle("HUP", reload);
        // Nothing to reopen (the director logs to stderr), but USR1 from a logrotate script must not kill it.
        Signals.handle("USR1", () -> log("SIGUSR1: no log files to reopen (the director logs to stderr)"));
        log(io.tiergate.shared.runtime.Runtimes.describe(vertx));
        log("director running, dataplane " + director.status().dataplane() + " (" + director.status().dataplaneReason()
                + ")" + (director.adminPort() > 0 ? ", admin on port " + director.adminPort() : ""));
        pidFile.write();
        String signal = stop.await();
        pidFile.remove();
        // Kernel state stays: a restarted director finds it and changes nothing. With VRRP the instance hands over
        // first (priority 0), so the peer takes the VIPs at once.
        String dataplane = director.status().dataplane();
        log(signal + ": stopping" + (dataplane.equals("userspace") ? ""
                : " (the " + dataplane + " tables stay programmed: a restart breaks no established flow)"));
        director.close();
        try {
            vertx.close().toCompletionStage().toCompletableFuture().get(5, TimeUnit.SECONDS);
        } catch (Exception e) {
            log("shutdown did not complete cleanly: " + e);
            return ExitCodes.FAILURE;
        }
        log("stopped");
        return ExitCodes.OK;
    }

    /** Through the configured logging (text or JSON), so a JSON log holds only JSON lines. */
    private static void log(String line) {
        LOG.info(line);
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
        @Parameters(index = "0", arity = "0..1", paramLabel = "SERVICE", description = "Service name from the config.")
        String service;

        @Parameters(index = "1", arity = "0..1", paramLabel = "RS", description = "Real server as configured (host:port) or address:port.")
        String realServer;

        @Option(names = "--all", description = "The whole director (needs director.bgp): withdraw every VIP from the "
                + "routers (drain) or announce them again (enable).")
        boolean all;

        @CommandLine.Mixin
        AdminTargetMixin target;

        @CommandLine.Spec
        CommandLine.Model.CommandSpec spec;

        abstract String action();

        @Override
        public Integer call() {
            if (all) {
                return whole();
            }
            if (service == null || realServer == null) {
                throw new CommandLine.ParameterException(spec.commandLine(),
                        "give SERVICE and RS (e.g. web 10.0.0.11:80), or --all for the whole director");
            }
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

        private int whole() {
            if (service != null) {
                throw new CommandLine.ParameterException(spec.commandLine(), "--all takes no SERVICE or RS");
            }
            HttpResponse<String> r = target.t.send(HttpRequest.newBuilder(URI.create(target.t.base() + "/" + action()
                    + "-all")).POST(HttpRequest.BodyPublishers.noBody()));
            if (r.statusCode() == 409) {
                String msg = r.body().replaceAll("^\\s*\\{\\s*\"error\"\\s*:\\s*\"|\"\\s*}\\s*$", "").trim();
                throw new UserException(msg, ExitCodes.USAGE);
            }
            if (r.statusCode() != 200) {
                throw new UserException("the director answered " + r.statusCode() + ": " + r.body().trim(), ExitCodes.FAILURE);
            }
            spec.commandLine().getOut().println(action().equals("drain")
                    ? "director drained: every VIP withdrawn from the routers; established flows continue through the "
                    + "other directors (same Maglev table)"
                    : "director enabled: VIPs it can serve are announced again");
            return ExitCodes.OK;
        }

        private static String enc(String s) {
            return URLEncoder.encode(s, StandardCharsets.UTF_8).replace("+", "%20");
        }
    }

    @Command(name = "drain", mixinStandardHelpOptions = true,
            description = "Set a real server's weight to 0: no new connections, established ones continue.",
            footer = {"", "Examples:", "  tiergate director drain web 10.0.0.11:80",
                "  tiergate director drain --all     (BGP: withdraw every VIP; the routers move flows to the others)"})
    static final class Drain extends Operate {
        @Override
        String action() {
            return "drain";
        }
    }

    @Command(name = "enable", mixinStandardHelpOptions = true,
            description = "Undo drain: the real server gets its configured weight back.",
            footer = {"", "Examples:", "  tiergate director enable web 10.0.0.11:80", "  tiergate director enable --all"})
    static final class Enable extends Operate {
        @Override
        String action() {
            return "enable";
        }
    }
}
