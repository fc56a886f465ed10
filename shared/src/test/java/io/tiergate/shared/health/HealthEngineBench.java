package io.tiergate.shared.health;

import com.sun.management.OperatingSystemMXBean;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.core.net.NetServer;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Benchmark, not a test: many TCP targets probed by one HealthEngine, run by bench/health-engine.sh.
 *
 * <p>The listeners live in a child JVM (pinned to another core when taskset exists) so the CPU
 * share printed is the engine's alone. The child takes commands on stdin ("close PORT", "count")
 * and acknowledges on stdout.
 *
 * <p>Args: targets ports intervalMs seconds loops (defaults 10000 300 100 30 1); {@code loops} is both the Vert.x
 * event-loop pool and the engine's number of probing loops.
 */
public final class HealthEngineBench {

    public static void main(String[] args) throws Exception {
        if (args.length > 0 && args[0].equals("serve")) {
            serve(Integer.parseInt(args[1]));
            return;
        }
        io.tiergate.shared.logging.Logging.configure("text", "warn");
        int targets = args.length > 0 ? Integer.parseInt(args[0]) : 10_000;
        int ports = args.length > 1 ? Integer.parseInt(args[1]) : 300;
        long intervalMs = args.length > 2 ? Long.parseLong(args[2]) : 100;
        int seconds = args.length > 3 ? Integer.parseInt(args[3]) : 30;
        int loops = args.length > 4 ? Integer.parseInt(args[4]) : 1;

        List<String> cmd = new ArrayList<>();
        if (Files.isExecutable(Path.of("/usr/bin/taskset")) && Runtime.getRuntime().availableProcessors() >= 1) {
            cmd.addAll(List.of("/usr/bin/taskset", "-c", "1"));
        }
        cmd.addAll(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-cp", System.getProperty("java.class.path"), HealthEngineBench.class.getName(),
                "serve", Integer.toString(ports)));
        Process child = new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.INHERIT).start();
        BufferedReader fromChild = new BufferedReader(new InputStreamReader(child.getInputStream(), StandardCharsets.UTF_8));
        PrintWriter toChild = new PrintWriter(child.getOutputStream(), true, StandardCharsets.UTF_8);
        List<Integer> portList = new ArrayList<>();
        for (String p : fromChild.readLine().split(" ")) {
            portList.add(Integer.parseInt(p));
        }

        Vertx vertx = Vertx.vertx(new VertxOptions().setEventLoopPoolSize(loops).setPreferNativeTransport(true));
        ConcurrentLinkedQueue<HealthTransition> transitions = new ConcurrentLinkedQueue<>();
        HealthEngine engine = new HealthEngine(vertx, loops, transitions::add);
        Map<String, Integer> portOf = new HashMap<>();
        HealthCheck check = HealthCheck.tcp(Duration.ofMillis(intervalMs), Duration.ofMillis(intervalMs), 2, 3);
        for (int i = 0; i < targets; i++) {
            int port = portList.get(i % portList.size());
            String id = "t" + i;
            portOf.put(id, port);
            engine.add(HealthTarget.of(id, "127.0.0.1", port, check), HealthState.UP);
        }
        System.out.printf("targets=%d ports=%d interval=%dms rise=2 fall=3 loops=%d transport=%s cpus=%d java=%s%n",
                targets, portList.size(), intervalMs, engine.loops(), vertx.isNativeTransportEnabled() ? "epoll" : "nio",
                Runtime.getRuntime().availableProcessors(), System.getProperty("java.version"));

        OperatingSystemMXBean os = (OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();
        int warmup = Math.max(2, seconds / 6);
        int closePhase = Math.max(5, seconds / 3);
        int measure = Math.max(3, seconds - warmup - closePhase);
        Thread.sleep(warmup * 1000L);

        transitions.clear();
        long cpu0 = os.getProcessCpuTime();
        long wall0 = System.nanoTime();
        long probes0 = count(toChild, fromChild);
        Thread.sleep(measure * 1000L);
        long cpu1 = os.getProcessCpuTime();
        long wall1 = System.nanoTime();
        long probes1 = count(toChild, fromChild);
        int spuriousSteady = transitions.size();
        double wallS = (wall1 - wall0) / 1e9;
        // CPU per probe moves far less than the probe rate when other processes share the cores.
        System.out.printf("steady state over %.1fs: engine JVM CPU %.1f%% of one core, probes %.0f/s (ideal %.0f/s), "
                        + "%.1f us CPU per probe, transitions %d, load average %s%n",
                wallS, 100.0 * (cpu1 - cpu0) / (wall1 - wall0), (probes1 - probes0) / wallS,
                targets * 1000.0 / intervalMs, (cpu1 - cpu0) / 1e3 / Math.max(1, probes1 - probes0), spuriousSteady,
                Files.readString(Path.of("/proc/loadavg")).split(" ")[0]);

        // Close listeners one per second and time how long until each of their targets is DOWN.
        transitions.clear();
        int toClose = Math.min(closePhase - 2, portList.size() / 2);
        Map<Integer, Long> closedAt = new HashMap<>();
        for (int i = 0; i < toClose; i++) {
            int port = portList.get(i * 7 % portList.size());
            toChild.println("close " + port);
            fromChild.readLine(); // "closed": the listener is gone
            closedAt.put(port, System.nanoTime());
            Thread.sleep(1000);
        }
        Thread.sleep(2000);
        List<Long> delaysMs = new ArrayList<>();
        int falseDown = 0;
        for (HealthTransition t : transitions) {
            Long at = closedAt.get(portOf.get(t.targetId()));
            if (t.to() == HealthState.DOWN && at != null && t.nanoTime() >= at) {
                delaysMs.add(TimeUnit.NANOSECONDS.toMillis(t.nanoTime() - at));
            } else {
                falseDown++;
            }
        }
        long expected = portOf.values().stream().filter(closedAt::containsKey).count();
        Collections.sort(delaysMs);
        System.out.printf("detection: %d of %d targets on %d closed listeners went DOWN; delay median %d ms, p90 %d ms, max %d ms; other transitions %d%n",
                delaysMs.size(), expected, closedAt.size(),
                delaysMs.isEmpty() ? -1 : delaysMs.get(delaysMs.size() / 2),
                delaysMs.isEmpty() ? -1 : delaysMs.get((int) (delaysMs.size() * 0.9)),
                delaysMs.isEmpty() ? -1 : delaysMs.get(delaysMs.size() - 1), falseDown);

        engine.close();
        toChild.println("exit");
        child.waitFor(5, TimeUnit.SECONDS);
        child.destroy();
        vertx.close().await(5, TimeUnit.SECONDS);
    }

    private static long count(PrintWriter to, BufferedReader from) throws Exception {
        to.println("count");
        return Long.parseLong(from.readLine().trim());
    }

    private static void serve(int ports) throws Exception {
        Vertx vertx = Vertx.vertx(new VertxOptions().setEventLoopPoolSize(1));
        AtomicLong accepted = new AtomicLong();
        Map<Integer, NetServer> servers = new HashMap<>();
        StringBuilder line = new StringBuilder();
        for (int i = 0; i < ports; i++) {
            NetServer s = vertx.createNetServer(new io.vertx.core.net.NetServerOptions().setAcceptBacklog(4096))
                    .connectHandler(so -> {
                        accepted.incrementAndGet();
                        so.close();
                    })
                    .listen(0, "127.0.0.1").await(5, TimeUnit.SECONDS);
            servers.put(s.actualPort(), s);
            line.append(i == 0 ? "" : " ").append(s.actualPort());
        }
        System.out.println(line);
        System.out.flush();
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        String cmd;
        while ((cmd = in.readLine()) != null) {
            if (cmd.startsWith("close ")) {
                servers.remove(Integer.parseInt(cmd.substring(6))).close().await(5, TimeUnit.SECONDS);
                System.out.println("closed");
            } else if (cmd.equals("count")) {
                System.out.println(accepted.get());
            } else if (cmd.equals("exit")) {
                break;
            }
            System.out.flush();
        }
        vertx.close().await(5, TimeUnit.SECONDS);
        System.exit(0);
    }
}
