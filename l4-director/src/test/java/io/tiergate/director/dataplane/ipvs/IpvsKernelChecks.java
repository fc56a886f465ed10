package io.tiergate.director.dataplane.ipvs;

import static io.tiergate.director.dataplane.ipvs.IpvsCodecGoldenTest.addr;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * Runs inside the VM (see IpvsVmTest and src/test/vm/run-in-vm.sh), as root, against a real IPVS:
 * programs the kernel through {@link IpvsClient} and checks that {@code ipvsadm} — the reference
 * tool, reading the same kernel state through its own code — agrees. A plain main rather than a
 * JUnit class, so the guest needs nothing but the test classpath. Prints one line per check and
 * exits non-zero if any failed.
 */
public final class IpvsKernelChecks {
    static final IpvsService WEB = IpvsService.tcp(addr("10.0.0.1"), 80).scheduler("wrr").persistent(300).build();
    static final IpvsDestination RS1 = IpvsDestination.builder(addr("10.0.1.11"), 80).forwarding(IpvsForwarding.ROUTE).weight(3).build();
    static final IpvsDestination RS2 = IpvsDestination.builder(addr("10.0.1.12"), 80).forwarding(IpvsForwarding.ROUTE).weight(1).build();

    private final IpvsClient ipvs;

    IpvsKernelChecks(IpvsClient ipvs) {
        this.ipvs = ipvs;
    }

    public static void main(String[] args) throws Exception {
        Map<String, Check> checks = new LinkedHashMap<>();
        try (IpvsClient ipvs = IpvsClient.open()) {
            IpvsKernelChecks k = new IpvsKernelChecks(ipvs);
            checks.put("info matches ipvsadm's header", k::info);
            checks.put("service + 2 DR destinations created, read back, shown by ipvsadm -Ln", k::create);
            checks.put("weight and scheduler changed in place", k::change);
            checks.put("errors name the service/destination and the module to load", k::errors);
            checks.put("destination and service deleted", k::delete);
            checks.put("fwmark (IPv4+IPv6), IPv6 services, one-packet, persistence netmask, NAT", k::fwmarkAndIpv6);
            checks.put("timeouts set and read back (ipvsadm -L --timeout)", k::timeouts);
            checks.put("sync daemon started and stopped (ipvsadm -L --daemon)", k::daemon);
            checks.put("stats zeroed and shown by ipvsadm -Ln --stats", k::stats);
            checks.put("pipelined batch of 100 services x 3 destinations", k::batch);
            checks.put("flush empties the table", k::flush);
            for (String a : args) {
                if (a.equals("--traffic")) {
                    checks.put("DR traffic through the VIP; killed real server removed", () -> IpvsTrafficCheck.run(ipvs));
                }
                if (a.equals("--director")) {
                    checks.put("Director on dataplane ipvs: weights, drain, health, sync roles, restart flushes nothing",
                            DirectorIpvsChecks::run);
                }
            }
            int failed = 0;
            for (Map.Entry<String, Check> c : checks.entrySet()) {
                long t0 = System.nanoTime();
                try {
                    c.getValue().run();
                    System.out.printf("ok   %-75s %5d ms%n", c.getKey(), (System.nanoTime() - t0) / 1_000_000);
                } catch (Throwable e) {
                    failed++;
                    System.out.printf("FAIL %s: %s%n", c.getKey(), e.toString().replace('\n', ' '));
                    e.printStackTrace(System.out);
                }
            }
            System.out.println(failed == 0 ? "ALL " + checks.size() + " IPVS CHECKS PASSED" : failed + " of " + checks.size() + " IPVS CHECKS FAILED");
            System.exit(failed == 0 ? 0 : 1);
        }
    }

    interface Check {
        void run() throws Exception;
    }

    void info() {
        IpvsInfo info = ipvs.info();
        assertThat(info.version()).isEqualTo("1.2.1");
        assertThat(ipvsadm("-Ln").get(0)).isEqualTo("IP Virtual Server version " + info.version() + " (size=" + info.connectionTableSize() + ")");
    }

    void create() {
        ipvs.flush();
        ipvs.newService(WEB);
        ipvs.newDestination(WEB, RS1);
        ipvs.newDestination(WEB, RS2);
        assertThat(ipvsadm("-Ln")).containsSubsequence(
                "TCP 10.0.0.1:80 wrr persistent 300",
                "-> 10.0.1.11:80 Route 3 0 0",
                "-> 10.0.1.12:80 Route 1 0 0");
        assertThat(ipvs.services()).as("read back exactly as created").containsExactly(WEB);
        assertThat(ipvs.destinations(WEB)).containsExactlyInAnyOrder(RS1, RS2);
        assertThat(ipvs.service(WEB)).contains(WEB);
    }

    void change() {
        ipvs.setDestination(WEB, RS1.toBuilder().weight(0).build());
        IpvsService rr = WEB.toBuilder().scheduler("rr").notPersistent().build();
        ipvs.setService(rr);
        assertThat(ipvsadm("-Ln")).containsSubsequence("TCP 10.0.0.1:80 rr", "-> 10.0.1.11:80 Route 0 0 0");
        assertThat(ipvs.services()).containsExactly(rr);
        ipvs.setService(WEB);
        assertThat(ipvsadm("-Ln")).contains("TCP 10.0.0.1:80 wrr persistent 300");
    }

    void errors() {
        assertThatThrownBy(() -> ipvs.newService(WEB)).isInstanceOf(IpvsAlreadyExistsException.class)
                .hasMessage("service TCP 10.0.0.1:80 already exists");
        assertThatThrownBy(() -> ipvs.newDestination(WEB, RS1)).isInstanceOf(IpvsAlreadyExistsException.class)
                .hasMessage("destination 10.0.1.11:80 of service TCP 10.0.0.1:80 already exists");
        IpvsService ghost = IpvsService.tcp(addr("10.9.9.9"), 80).build();
        assertThatThrownBy(() -> ipvs.delService(ghost)).isInstanceOf(IpvsNotFoundException.class)
                .hasMessage("service TCP 10.9.9.9:80 not found");
        assertThatThrownBy(() -> ipvs.newDestination(ghost, RS1)).isInstanceOf(IpvsNotFoundException.class)
                .hasMessage("service TCP 10.9.9.9:80 not found");
        IpvsDestination nobody = IpvsDestination.builder(addr("10.0.1.99"), 80).build();
        assertThatThrownBy(() -> ipvs.delDestination(WEB, nobody)).isInstanceOf(IpvsNotFoundException.class)
                .hasMessage("destination 10.0.1.99:80 of service TCP 10.0.0.1:80 not found");
        assertThatThrownBy(() -> ipvs.setDestination(WEB, nobody)).isInstanceOf(IpvsNotFoundException.class);
        // The harness doesn't load ip_vs_lblcr and the guest can't modprobe it.
        IpvsService lblcr = IpvsService.tcp(addr("10.0.0.2"), 80).scheduler("lblcr").build();
        assertThatThrownBy(() -> ipvs.newService(lblcr)).isInstanceOf(IpvsSchedulerNotLoadedException.class)
                .hasMessage("scheduler 'lblcr' is not loaded: run `modprobe ip_vs_lblcr`");
        assertThat(ipvs.service(ghost)).isEmpty();
    }

    void delete() {
        ipvs.delDestination(WEB, RS2);
        assertThat(ipvsadm("-Ln")).noneMatch(l -> l.startsWith("-> 10.0.1.12:80"));
        assertThat(ipvs.destinations(WEB)).extracting(IpvsDestination::describe).containsExactly("10.0.1.11:80");
        ipvs.delService(WEB);
        assertThat(ipvsadm("-Ln")).noneMatch(l -> l.startsWith("TCP 10.0.0.1:80"));
        assertThat(ipvs.services()).isEmpty();
    }

    void fwmarkAndIpv6() {
        IpvsService fwm = IpvsService.fwmark(IpvsFamily.INET, 42).scheduler("rr").build();
        IpvsService fwm6 = IpvsService.fwmark(IpvsFamily.INET6, 43).scheduler("wlc").build();
        IpvsService dns6 = IpvsService.udp(addr("2001:db8::1"), 53).scheduler("rr").onePacket(true).build();
        IpvsService web6 = IpvsService.tcp(addr("2001:db8::1"), 443).scheduler("sh").persistent(60).netmaskPrefix(64).build();
        IpvsService sticky4 = IpvsService.tcp(addr("10.0.0.3"), 443).scheduler("mh").persistent(120).netmaskPrefix(24).build();
        IpvsDestination nat6 = IpvsDestination.builder(addr("2001:db8::10"), 8443).forwarding(IpvsForwarding.MASQ).weight(2).build();
        IpvsDestination fwmDest = IpvsDestination.builder(addr("10.0.2.1"), 0).weight(5).build();
        for (IpvsService s : List.of(fwm, fwm6, dns6, web6, sticky4)) {
            ipvs.newService(s);
        }
        ipvs.newDestination(web6, nat6);
        ipvs.newDestination(fwm, fwmDest);
        List<String> l = ipvsadm("-Ln");
        assertThat(l).contains("FWM 42 rr", "FWM 43 IPv6 wlc", "UDP [2001:db8::1]:53 rr ops",
                "-> [2001:db8::10]:8443 Masq 2 0 0", "-> 10.0.2.1:0 Route 5 0 0",
                "TCP 10.0.0.3:443 mh persistent 120 mask 255.255.255.0");
        assertThat(l).anyMatch(x -> x.startsWith("TCP [2001:db8::1]:443 sh persistent 60"));
        assertThat(ipvs.services()).containsExactlyInAnyOrder(fwm, fwm6, dns6, web6, sticky4);
        assertThat(ipvs.destinations(web6)).containsExactly(nat6);
        ipvs.flush();
    }

    void timeouts() {
        IpvsTimeouts before = ipvs.config();
        ipvs.setConfig(new IpvsTimeouts(900, 120, 300));
        assertThat(ipvs.config()).isEqualTo(new IpvsTimeouts(900, 120, 300));
        assertThat(ipvsadm("-L", "--timeout")).contains("Timeout (tcp tcpfin udp): 900 120 300");
        ipvs.setConfig(new IpvsTimeouts(0, 0, 60)); // 0 = unchanged
        assertThat(ipvs.config()).isEqualTo(new IpvsTimeouts(900, 120, 60));
        ipvs.setConfig(before);
    }

    void daemon() {
        sh("ip link add tgsync0 type dummy && ip addr add 192.168.77.1/24 dev tgsync0 && ip link set tgsync0 multicast on up");
        ipvs.newDaemon(IpvsDaemon.of(IpvsDaemon.State.MASTER, "tgsync0", 7));
        assertThat(ipvsadm("-L", "--daemon")).anyMatch(x -> x.startsWith("master sync daemon (mcast=tgsync0, syncid=7"));
        List<IpvsDaemon> ds = ipvs.daemons();
        assertThat(ds).hasSize(1);
        assertThat(ds.get(0).state()).isEqualTo(IpvsDaemon.State.MASTER);
        assertThat(ds.get(0).interfaceName()).isEqualTo("tgsync0");
        assertThat(ds.get(0).syncId()).isEqualTo(7);
        assertThatThrownBy(() -> ipvs.newDaemon(IpvsDaemon.of(IpvsDaemon.State.MASTER, "tgsync0", 7)))
                .isInstanceOf(IpvsAlreadyExistsException.class).hasMessage("a master sync daemon is already running");
        ipvs.delDaemon(IpvsDaemon.State.MASTER);
        assertThat(ipvsadm("-L", "--daemon")).noneMatch(x -> x.contains("sync daemon"));
        assertThat(ipvs.daemons()).isEmpty();
        assertThatThrownBy(() -> ipvs.delDaemon(IpvsDaemon.State.MASTER))
                .isInstanceOf(IpvsNotFoundException.class).hasMessage("no master sync daemon is running");
        sh("ip link del tgsync0");
    }

    void stats() {
        ipvs.newService(WEB);
        ipvs.newDestination(WEB, RS1);
        ipvs.zero();
        ipvs.zero(WEB);
        assertThat(ipvsadm("-Ln", "--stats")).containsSubsequence(
                "Prot LocalAddress:Port Conns InPkts OutPkts InBytes OutBytes",
                "TCP 10.0.0.1:80 0 0 0 0 0",
                "-> 10.0.1.11:80 0 0 0 0 0");
        assertThat(ipvs.services().get(0).stats()).isEqualTo(IpvsStats.ZERO);
        ipvs.flush();
    }

    void batch() {
        List<IpvsClient.Change> changes = new ArrayList<>();
        for (int i = 0; i < 100; i++) {
            IpvsService s = IpvsService.tcp(addr("10.1.0." + (i + 1)), 80).scheduler("wrr").build();
            changes.add(IpvsClient.Change.newService(s));
            for (int d = 0; d < 3; d++) {
                changes.add(IpvsClient.Change.newDest(s, IpvsDestination.builder(addr("10.2." + i + "." + (d + 1)), 8080).weight(d + 1).build()));
            }
        }
        assertThat(ipvs.apply(changes)).as("failures").isEmpty();
        assertThat(ipvs.services()).hasSize(100);
        List<String> l = ipvsadm("-Ln");
        assertThat(l.stream().filter(x -> x.startsWith("TCP 10.1.0."))).hasSize(100);
        assertThat(l.stream().filter(x -> x.startsWith("-> 10.2."))).hasSize(300);
        List<IpvsException> again = ipvs.apply(changes.subList(0, 4));
        assertThat(again).hasSize(4).allMatch(e -> e instanceof IpvsAlreadyExistsException);
        assertThat(again.get(0)).hasMessage("service TCP 10.1.0.1:80 already exists");
    }

    void flush() {
        ipvs.flush();
        assertThat(ipvs.services()).isEmpty();
        assertThat(ipvsadm("-Ln")).hasSize(3); // just the three header lines
    }

    /** ipvsadm's output with runs of spaces collapsed, one entry per line. */
    static List<String> ipvsadm(String... args) {
        List<String> cmd = new ArrayList<>(List.of("ipvsadm"));
        cmd.addAll(Arrays.asList(args));
        return run(cmd).lines().map(x -> x.trim().replaceAll("\\s+", " ")).filter(x -> !x.isEmpty()).toList();
    }

    static String sh(String script) {
        return run(List.of("sh", "-c", script));
    }

    static String run(List<String> cmd) {
        try {
            Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (!p.waitFor(30, TimeUnit.SECONDS) || p.exitValue() != 0) {
                throw new AssertionError(String.join(" ", cmd) + " failed: " + out);
            }
            return out;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError(e);
        }
    }
}
