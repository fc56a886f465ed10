package io.tiergate.cli;

import io.tiergate.proxy.admin.CacheAdmin;
import io.tiergate.proxy.config.ProxyConfig;
import io.tiergate.shared.admin.AdminAccess;
import io.tiergate.shared.config.HostPort;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.concurrent.Callable;

/** {@code tiergate cache purge KEY}: removes a key (or every key under a prefix) from a running proxy's cache. */
@Command(name = "cache", mixinStandardHelpOptions = true,
        description = "Talk to a running proxy's cache.",
        subcommands = {CacheCommand.Purge.class})
final class CacheCommand implements Callable<Integer> {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() {
        throw new CommandLine.ParameterException(spec.commandLine(), "Missing subcommand: purge");
    }

    @Command(name = "purge", mixinStandardHelpOptions = true,
            description = "Remove one cache key (all its Vary variants), or with --prefix every key starting with it.",
            footer = {"", "Keys are the expanded cache key of the location, by default $scheme://$host$request_uri.", "",
                "Examples:",
                "  tiergate cache purge http://example.com/assets/app.css",
                "  tiergate cache purge --prefix http://example.com/assets/ -c /etc/tiergate/proxy.yaml"})
    static final class Purge implements Callable<Integer> {
        @Parameters(index = "0", paramLabel = "KEY", description = "The cache key (or the prefix, with --prefix).")
        String key;

        @Option(names = "--prefix", description = "Purge every key starting with KEY.")
        boolean prefix;

        @Option(names = "--admin", paramLabel = "HOST:PORT", description = "Admin address of the running proxy (default 127.0.0.1:9181).")
        String admin;

        @Option(names = {"-c", "--config"}, paramLabel = "FILE", description = "Read the admin address and credentials from this config.")
        Path config;

        @CommandLine.Mixin
        AdminEndpoint.Options credentials = new AdminEndpoint.Options();

        @CommandLine.Spec
        CommandLine.Model.CommandSpec spec;

        @Override
        public Integer call() {
            HostPort hp = ProxyConfig.DEFAULT_ADMIN;
            AdminAccess access = AdminAccess.OPEN;
            if (config != null) {
                ProxyConfig pc = TiergateConfig.load(config).proxy().orElseThrow(() ->
                        new UserException(config + " has no 'proxy:' section", ExitCodes.CONFIG));
                if (pc.admin() == null) {
                    throw new UserException(config + " has no proxy admin endpoint (proxy.admin is off)", ExitCodes.CONFIG);
                }
                hp = pc.admin();
                access = pc.adminAccess();
            }
            AdminEndpoint endpoint = credentials.endpoint("proxy", hp, admin, access);
            String url = endpoint.base() + CacheAdmin.PURGE_PATH + "?" + (prefix ? "prefix=" : "key=")
                    + URLEncoder.encode(key, StandardCharsets.UTF_8);
            HttpResponse<String> r = endpoint.send(HttpRequest.newBuilder(URI.create(url))
                    .POST(HttpRequest.BodyPublishers.noBody()));
            if (r.statusCode() == 400) {
                throw new UserException(r.body().trim(), ExitCodes.USAGE);
            }
            if (r.statusCode() != 200) {
                throw new UserException("the proxy answered " + r.statusCode() + ": " + r.body().trim(), ExitCodes.FAILURE);
            }
            spec.commandLine().getOut().print(r.body());
            spec.commandLine().getOut().flush();
            return ExitCodes.OK;
        }
    }
}
