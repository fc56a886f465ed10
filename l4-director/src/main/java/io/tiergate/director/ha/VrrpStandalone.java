package io.tiergate.director.ha;

import io.tiergate.shared.config.ConfigException;
import io.tiergate.shared.config.ConfigMap;
import io.tiergate.shared.config.Problems;
import io.tiergate.shared.config.YamlLoader;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.concurrent.CountDownLatch;

/**
 * A VRRP speaker on its own: {@code java -cp ... io.tiergate.director.ha.VrrpStandalone FILE} reads the
 * {@code director.vrrp:} section of FILE and runs it until SIGTERM (a clean stop: priority 0). Each role change is
 * printed as {@code STATE <name> <nanoTime>}; lines {@code healthy}/{@code unhealthy} on stdin drive health
 * tracking and {@code status} prints a {@code STATUS ...} line. Used by the namespace tests and bench/vrrp-failover.sh; the director wires {@link VrrpInstance}
 * itself.
 */
public final class VrrpStandalone {
    private VrrpStandalone() {
    }

    public static void main(String[] args) throws Exception {
        if (args.length != 1) {
            System.err.println("usage: VrrpStandalone CONFIG.yaml   (reads its director.vrrp section)");
            System.exit(2);
        }
        VrrpConfig config;
        try {
            Problems problems = new Problems();
            ConfigMap root = ConfigMap.of(YamlLoader.load(Path.of(args[0])), problems);
            ConfigMap director = root.mapOrEmpty("director");
            director.known(director.keys().toArray(String[]::new));
            config = VrrpConfig.parse(director.mapOrEmpty("vrrp"));
            problems.throwIfAny();
        } catch (ConfigException e) {
            System.err.println(e.getMessage());
            System.exit(2);
            return;
        }
        VrrpInstance instance;
        try {
            instance = VrrpInstance.create(config);
            instance.addListener((from, to) -> {
                System.out.println("STATE " + to + " " + System.nanoTime());
                System.out.flush();
            });
            instance.start();
        } catch (VrrpException e) {
            System.err.println("vrrp: " + e.getMessage());
            System.exit(1);
            return;
        }
        CountDownLatch done = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            instance.stop();
            done.countDown();
        }));
        Thread stdin = new Thread(() -> {
            try (BufferedReader r = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8))) {
                for (String line; (line = r.readLine()) != null; ) {
                    switch (line.trim()) {
                        case "healthy" -> instance.setTrackedHealth(true);
                        case "unhealthy" -> instance.setTrackedHealth(false);
                        case "status" -> {
                            VrrpStatus st = instance.status();
                            System.out.println("STATUS " + st.state() + " priority=" + st.priority() + " master="
                                    + st.master().map(a -> a.getHostAddress()).orElse("-") + " interval="
                                    + st.masterAdvertInterval().toMillis() + "ms");
                            System.out.flush();
                        }
                        default -> System.err.println("unknown command: " + line);
                    }
                }
            } catch (Exception ignored) {
                // stdin closed
            }
        }, "vrrp-stdin");
        stdin.setDaemon(true);
        stdin.start();
        done.await();
    }
}
