package io.tiergate.director.ha;

import io.tiergate.shared.config.ConfigException;
import io.tiergate.shared.config.ConfigMap;
import io.tiergate.shared.config.Problems;
import io.tiergate.shared.config.YamlLoader;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Optional;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicReference;

/**
 * A VRRP speaker on its own: {@code java -cp ... io.tiergate.director.ha.VrrpStandalone FILE} reads the
 * {@code director.vrrp:} section of FILE and runs it until SIGTERM (a clean stop: priority 0). Each role change is
 * printed as {@code STATE <name> <nanoTime>}; lines {@code healthy}/{@code unhealthy} on stdin drive health
 * tracking, {@code status} prints a {@code STATUS ...} line, {@code metrics} the VRRP meters as
 * {@code METRIC <prometheus line>} lines ending with {@code METRICS END}, and {@code reload} re-reads FILE the way the director
 * does on SIGHUP ({@link VrrpReload}): live where it can, else a clean restart of the instance. Used by the namespace tests and bench/vrrp-failover.sh; the director wires {@link VrrpInstance}
 * itself.
 */
public final class VrrpStandalone {
    private static final Logger log = LoggerFactory.getLogger(VrrpStandalone.class);

    private VrrpStandalone() {
    }

    private static VrrpConfig read(Path file) {
        Problems problems = new Problems();
        ConfigMap root = ConfigMap.of(YamlLoader.load(file), problems);
        ConfigMap director = root.mapOrEmpty("director");
        director.known(director.keys().toArray(String[]::new));
        VrrpConfig config = VrrpConfig.parse(director.mapOrEmpty("vrrp"));
        problems.throwIfAny();
        return config;
    }

    private static VrrpInstance startInstance(VrrpConfig config) {
        VrrpInstance instance = VrrpInstance.create(config);
        instance.addListener((from, to) -> {
            System.out.println("STATE " + to + " " + System.nanoTime());
            System.out.flush();
        });
        instance.start();
        return instance;
    }

    private static void reload(Path file, AtomicReference<VrrpInstance> running) {
        VrrpConfig next;
        try {
            next = read(file);
        } catch (ConfigException e) {
            log.error("reload: {}; keeping the running config", e.getMessage());
            return;
        }
        synchronized (running) {
            VrrpInstance old = running.get();
            Optional<String> restart = VrrpReload.restartReason(old.config(), next);
            if (restart.isPresent()) {
                log.info("vrrp: {}: {}", restart.get(), VrrpReload.RESTARTING);
                old.stop();
                try {
                    running.set(startInstance(next));
                } catch (VrrpException e) {
                    log.error("vrrp: the new instance cannot start: {}; VRRP is off", e.getMessage());
                }
            } else {
                VrrpReload.liveChanges(old.config(), next).forEach(c -> log.info("vrrp: {}", c));
                old.reconfigure(next);
            }
        }
        System.out.println("RELOADED");
        System.out.flush();
    }

    public static void main(String[] args) throws Exception {
        if (args.length != 1) {
            System.err.println("usage: VrrpStandalone CONFIG.yaml   (reads its director.vrrp section)");
            System.exit(2);
        }
        Path file = Path.of(args[0]);
        VrrpConfig config;
        try {
            config = read(file);
        } catch (ConfigException e) {
            System.err.println(e.getMessage());
            System.exit(2);
            return;
        }
        AtomicReference<VrrpInstance> running = new AtomicReference<>();
        try {
            running.set(startInstance(config));
        } catch (VrrpException e) {
            System.err.println("vrrp: " + e.getMessage());
            System.exit(1);
            return;
        }
        io.tiergate.shared.metrics.Metrics metrics = new io.tiergate.shared.metrics.Metrics(java.util.Map.of("tier", "director"));
        VrrpMetrics vrrpMetrics = new VrrpMetrics(metrics.registry());
        CountDownLatch done = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            synchronized (running) {
                running.get().stop();
            }
            done.countDown();
        }));
        Thread stdin = new Thread(() -> {
            try (BufferedReader r = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8))) {
                for (String line; (line = r.readLine()) != null; ) {
                    VrrpInstance instance = running.get();
                    switch (line.trim()) {
                        case "healthy" -> instance.setTrackedHealth(true);
                        case "unhealthy" -> instance.setTrackedHealth(false);
                        case "status" -> {
                            VrrpStatus st = instance.status();
                            System.out.println("STATUS " + st.state() + " priority=" + st.priority() + " master="
                                    + st.master().map(VrrpConfig::text).orElse("-") + " interval="
                                    + st.masterAdvertInterval().toMillis() + "ms");
                            System.out.flush();
                        }
                        case "reload" -> reload(file, running);
                        case "metrics" -> {
                            // The director's VRRP meters, as its /metrics shows them.
                            vrrpMetrics.update(instance.status());
                            for (String m : metrics.scrape().split("\n")) {
                                if (m.startsWith("tiergate_")) {
                                    System.out.println("METRIC " + m);
                                }
                            }
                            System.out.println("METRICS END");
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
