package io.tiergate.cli;

import io.tiergate.cli.lab.Netns;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@code tiergate proxy} with {@code dr: {vips: [...]}} as root, inside a fresh network namespace (the host's lo and
 * sysctls are never touched): the VIP is on lo and the ARP sysctls set before it listens, it answers on the VIP, and
 * a graceful stop undoes exactly that.
 */
@Timeout(90)
class ProxyDrNamespaceTest {
    private final String ns = "tgpx" + (ProcessHandle.current().pid() % 100000);
    @TempDir
    Path dir;
    Process proc;

    @BeforeEach
    void setUp() {
        String why = Netns.unavailableReason();
        Assumptions.assumeTrue(why == null, "DR proxy namespace test skipped: " + why);
        if (Netns.list().contains(ns)) {
            Netns.delete(ns);
        }
        Netns.add(ns);
        Netns.veth(ns, "eth0", "10.205.0.2/24", null, ns.substring(0, Math.min(ns.length(), 12)) + "h", null);
        Netns.exec(ns, "ip", "link", "set", "lo", "up");
    }

    @AfterEach
    void tearDown() throws Exception {
        if (proc != null && proc.isAlive()) {
            proc.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
        }
        if (Netns.list().contains(ns)) {
            Netns.delete(ns);
        }
    }

    @Test
    void asRootItSetsUpTheVipBeforeListeningAnswersOnItAndUndoesItOnStop() throws Exception {
        Path file = dir.resolve("proxy.yaml");
        Files.writeString(file, """
                logging: {level: warn}
                proxy:
                  access_log: {format: off}
                  admin: "off"
                  dr: {vips: [10.205.0.100]}
                  listeners: [{address: 0.0.0.0:0}]
                  upstreams: {app: {servers: ["127.0.0.1:1"]}}
                  servers: [{default: true, locations: [{prefix: /, upstream: app}]}]
                """);
        assertThat(Netns.exec(ns, "ip", "-o", "addr", "show", "dev", "lo")).as("before: no VIP")
                .doesNotContain("10.205.0.100");
        proc = new ProcessBuilder("ip", "netns", "exec", ns, ProcessHandle.current().info().command().orElse("java"),
                "-cp", System.getProperty("java.class.path"), "io.tiergate.cli.Main", "proxy", "-c", file.toString(),
                "--watch-interval", "0").redirectErrorStream(true).start();
        List<String> lines = new CopyOnWriteArrayList<>();
        Thread t = new Thread(() -> {
            try (BufferedReader r = new BufferedReader(new InputStreamReader(proc.getInputStream(), StandardCharsets.UTF_8))) {
                String l;
                while ((l = r.readLine()) != null) {
                    lines.add(l);
                }
            } catch (java.io.IOException e) {
                // gone
            }
        });
        t.setDaemon(true);
        t.start();
        Pattern listening = Pattern.compile("listening on 0\\.0\\.0\\.0:(\\d+)");
        int port = -1;
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (port < 0 && System.nanoTime() < end) {
            for (String l : lines) {
                Matcher m = listening.matcher(l);
                if (m.find()) {
                    port = Integer.parseInt(m.group(1));
                }
            }
            Thread.sleep(50);
        }
        assertThat(port).as("the proxy started; output:\n" + String.join("\n", lines)).isPositive();
        assertThat(Netns.exec(ns, "ip", "-o", "addr", "show", "dev", "lo")).as("VIP on lo while running")
                .contains("10.205.0.100/32");
        assertThat(Netns.exec(ns, "sysctl", "-n", "net.ipv4.conf.all.arp_ignore").trim()).isEqualTo("1");
        assertThat(Netns.exec(ns, "sysctl", "-n", "net.ipv4.conf.eth0.arp_announce").trim()).isEqualTo("2");
        String answer = Netns.exec(ns, "curl", "-s", "-o", "/dev/null", "-w", "%{http_code}",
                "http://10.205.0.100:" + port + "/");
        assertThat(answer).as("the proxy answers on the VIP (its upstream is down: 502)").isEqualTo("502");

        assertThat(new ProcessBuilder("kill", "-TERM", Long.toString(proc.pid())).start().waitFor()).isZero();
        assertThat(proc.waitFor(30, TimeUnit.SECONDS)).as("stops on SIGTERM").isTrue();
        assertThat(proc.exitValue()).as("exit 0; output:\n" + String.join("\n", lines)).isZero();
        assertThat(Netns.exec(ns, "ip", "-o", "addr", "show", "dev", "lo")).as("VIP removed on stop")
                .doesNotContain("10.205.0.100");
        assertThat(Netns.exec(ns, "sysctl", "-n", "net.ipv4.conf.all.arp_ignore").trim()).as("sysctl restored")
                .isEqualTo("0");
    }
}
