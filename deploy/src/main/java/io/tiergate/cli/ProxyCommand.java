package io.tiergate.cli;

import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.util.concurrent.Callable;

/** {@code tiergate proxy -c FILE}. (Skeleton: the proxy-core work fills this in.) */
@Command(name = "proxy", mixinStandardHelpOptions = true,
        description = "Run the L7 HTTP reverse proxy.",
        footer = {"", "Example:", "  tiergate proxy -c deploy/examples/proxy.yaml"})
final class ProxyCommand implements Callable<Integer> {
    @Option(names = {"-c", "--config"}, required = true, paramLabel = "FILE", description = "Config file with a proxy: section.")
    Path config;

    @Override
    public Integer call() {
        TiergateConfig cfg = TiergateConfig.load(config);
        if (cfg.proxy().isEmpty()) {
            throw new UserException(config + " has no 'proxy:' section", ExitCodes.CONFIG);
        }
        throw new UserException("the proxy is not built yet", ExitCodes.FAILURE);
    }
}
