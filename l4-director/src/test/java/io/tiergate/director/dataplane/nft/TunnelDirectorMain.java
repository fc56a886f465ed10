package io.tiergate.director.dataplane.nft;

import io.tiergate.director.Director;
import io.tiergate.director.config.DirectorConfig;
import io.tiergate.director.dataplane.DataplaneException;
import io.tiergate.director.engine.StepReport;
import io.tiergate.shared.config.ConfigMap;
import io.tiergate.shared.config.Problems;
import io.tiergate.shared.config.YamlLoader;
import io.vertx.core.Vertx;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The real director for src/test/vm/nft-tunnel-director.sh, run with plain {@code java} inside the VM (no Maven
 * there): {@code TunnelDirectorMain CONFIG.yaml}, started through {@link Director#start(Vertx, DirectorConfig)} as
 * {@code tiergate director} does (dataplane choice, ipip check, nft). Prints {@code READY} once every real server is
 * up, then reads commands on stdin: {@code reload FILE} (prints {@code RELOADED <upserts> <deletes>}) and
 * {@code quit}. A refused start prints {@code cannot start: <reason>} and exits 1, as the CLI does.
 */
public final class TunnelDirectorMain {
    private TunnelDirectorMain() {
    }

    public static void main(String[] args) throws Exception {
        Vertx vertx = Vertx.vertx();
        Director director;
        try {
            director = Director.start(vertx, load(Path.of(args[0])));
        } catch (DataplaneException e) {
            System.out.println("cannot start: " + e.getMessage());
            vertx.close();
            System.exit(1);
            return;
        }
        NftNamespaceTest.awaitAllUp(director);
        System.out.println("READY");
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        for (String line; (line = in.readLine()) != null; ) {
            if (line.startsWith("reload ")) {
                StepReport r = director.reload(load(Path.of(line.substring(7).trim())));
                System.out.println("RELOADED " + r.upserts() + " " + r.deletes() + (r.error() == null ? "" : " " + r.error()));
            } else if (line.equals("quit")) {
                break;
            }
        }
        director.close();
        vertx.close();
        System.exit(0);
    }

    private static DirectorConfig load(Path file) throws Exception {
        Problems problems = new Problems();
        ConfigMap root = ConfigMap.of(YamlLoader.parse(file.toString(), Files.readString(file)), problems);
        DirectorConfig cfg = DirectorConfig.parse(root.mapOrEmpty("director"));
        root.finish();
        problems.throwIfAny();
        return cfg;
    }
}
