package io.tiergate.cli;

import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.util.concurrent.Callable;

/** {@code tiergate director -c FILE}. (Skeleton: the director work fills this in and adds status/drain/enable.) */
@Command(name = "director", mixinStandardHelpOptions = true,
        description = "Run the L4 director (LVS-style: VIPs, real servers, health checks).",
        footer = {"", "Example:", "  sudo tiergate director -c deploy/examples/director.yaml"})
final class DirectorCommand implements Callable<Integer> {
    @Option(names = {"-c", "--config"}, required = true, paramLabel = "FILE", description = "Config file with a director: section.")
    Path config;

    @Override
    public Integer call() {
        TiergateConfig cfg = TiergateConfig.load(config);
        if (cfg.director().isEmpty()) {
            throw new UserException(config + " has no 'director:' section", ExitCodes.CONFIG);
        }
        throw new UserException("the director is not built yet", ExitCodes.FAILURE);
    }
}
