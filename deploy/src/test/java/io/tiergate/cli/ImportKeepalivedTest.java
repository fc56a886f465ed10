package io.tiergate.cli;

import io.tiergate.director.config.DirectorConfig;
import io.tiergate.director.ha.VrrpConfig;
import io.tiergate.director.model.RealServer;
import io.tiergate.director.model.VirtualService;
import io.tiergate.shared.health.HealthCheck;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;

import static io.tiergate.cli.ConfigCheckTest.tiergate;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@code tiergate config import-keepalived} on keepalived.conf samples that keepalived 2.2.7 itself accepts
 * ({@code keepalived -t} in a namespace with eth0–eth2 exits 0 for both files under src/test/resources/keepalived).
 * The output must pass {@code tiergate config check} and mean what the keepalived config meant.
 */
class ImportKeepalivedTest {
    @TempDir
    Path dir;

    private static Path sample(String name) throws Exception {
        return Path.of(ImportKeepalivedTest.class.getResource("/keepalived/" + name).toURI());
    }

    /** Imports, writes the YAML to a file, runs config check on it and loads it. */
    private DirectorConfig importAndCheck(ConfigCheckTest.Run r) throws Exception {
        Path out = dir.resolve("director.yaml");
        Files.writeString(out, r.out());
        ConfigCheckTest.Run check = tiergate("config", "check", out.toString());
        assertThat(check.exit()).as("config check of the imported YAML:\n" + r.out() + "\n" + check.err()).isZero();
        return TiergateConfig.load(out).director().orElseThrow();
    }

    @Test
    void aCommonDrPairImportsCompletelyAndMeansTheSame() throws Exception {
        ConfigCheckTest.Run r = tiergate("config", "import-keepalived", sample("lvs-dr.conf").toString());
        assertThat(r.err()).as("nothing left out").isEmpty();
        assertThat(r.exit()).isZero();
        assertThat(r.out()).contains("# line 3: router_id LVS_A — no counterpart needed")
                .contains("# line 19: state BACKUP — Tiergate elects the master by priority");
        DirectorConfig d = importAndCheck(r);

        VrrpConfig v = d.vrrp().orElseThrow();
        assertThat(v.interfaceName()).isEqualTo("eth0");
        assertThat(v.vrid()).isEqualTo(51);
        assertThat(v.priority()).isEqualTo(150);
        assertThat(v.advertInterval()).isEqualTo(Duration.ofMillis(100));
        assertThat(v.preempt()).isTrue();
        assertThat(v.preemptDelay()).isEqualTo(Duration.ofSeconds(30));
        assertThat(v.sourceAddress()).map(VrrpConfig::text).hasValue("192.0.2.2");
        assertThat(v.unicastPeers()).extracting(VrrpConfig::text).containsExactly("192.0.2.3");
        assertThat(v.virtualAddresses()).extracting(Object::toString).containsExactly("192.0.2.10/24", "192.0.2.11/24");
        assertThat(v.tracking().interfaces()).extracting(i -> i.name() + ":" + i.weight())
                .containsExactly("eth1:-20", "eth2:0");
        assertThat(v.tracking().scripts()).singleElement().satisfies(s -> {
            assertThat(s.name()).isEqualTo("chk_nginx");
            assertThat(s.command()).containsExactly("/usr/bin/pgrep", "-x", "nginx");
            assertThat(s.interval()).isEqualTo(Duration.ofSeconds(2));
            assertThat(s.timeout()).isEqualTo(Duration.ofSeconds(1));
            assertThat(List.of(s.rise(), s.fall(), s.weight())).containsExactly(2, 3, -30);
        });

        Map<String, VirtualService> services = d.services().stream()
                .collect(Collectors.toMap(VirtualService::name, s -> s));
        VirtualService web = services.get("vs_192_0_2_10_80");
        assertThat(web.key().toString()).contains("192.0.2.10").contains("80");
        assertThat(web.scheduler()).isEqualTo(io.tiergate.director.model.Scheduler.WEIGHTED_ROUND_ROBIN);
        assertThat(web.method()).isEqualTo(io.tiergate.director.model.ForwardingMethod.DIRECT_ROUTE);
        assertThat(web.persistence().timeout()).isEqualTo(Duration.ofSeconds(300));
        assertThat(web.onFailure().name()).as("keepalived removes a failed server unless inhibit_on_failure")
                .isEqualToIgnoringCase("remove");
        assertThat(web.realServers()).extracting(rs -> rs.address() + "/" + rs.weight())
                .containsExactly("10.0.0.11:80/3", "10.0.0.12:80/1");
        HealthCheck tcp = web.realServers().get(0).healthCheck().orElseThrow();
        assertThat(tcp.type()).isEqualTo(HealthCheck.Type.TCP);
        assertThat(tcp.interval()).as("delay_loop").isEqualTo(Duration.ofSeconds(6));
        assertThat(tcp.timeout()).as("connect_timeout").isEqualTo(Duration.ofSeconds(3));
        assertThat(List.of(tcp.rise(), tcp.fall())).as("keepalived: up after 1 success, down after 1 + retry (1)")
                .containsExactly(1, 2);

        VirtualService api = services.get("vs_192_0_2_11_443");
        assertThat(api.scheduler()).isEqualTo(io.tiergate.director.model.Scheduler.SOURCE_HASH);
        assertThat(api.method()).isEqualTo(io.tiergate.director.model.ForwardingMethod.NAT);
        assertThat(api.onFailure().name()).isEqualToIgnoringCase("weight0");
        assertThat(api.realServers()).extracting(rs -> rs.address().toString())
                .containsExactly("10.0.0.21:8443", "10.0.0.22:8443");
        HealthCheck http = api.realServers().get(1).healthCheck().orElseThrow();
        assertThat(http.type()).isEqualTo(HealthCheck.Type.HTTP);
        assertThat(http.httpPath()).isEqualTo("/healthz");
        assertThat(http.expectStatus()).containsExactly(200);
        assertThat(http.interval()).isEqualTo(Duration.ofSeconds(2));
        assertThat(http.timeout()).isEqualTo(Duration.ofSeconds(1));
        assertThat(http.fall()).as("retry 2").isEqualTo(3);
    }

    @Test
    void whatCannotBeMappedIsListedWithItsLineAndExit3() throws Exception {
        Path conf = sample("legacy.conf");
        ConfigCheckTest.Run r = tiergate("config", "import-keepalived", conf.toString());
        assertThat(r.exit()).isEqualTo(3);
        assertThat(r.err().lines().toList()).containsExactly(
                conf + ":3: notification_email: not imported: global_defs setting without a Tiergate counterpart",
                conf + ":16: authentication: not imported: VRRPv3 has no authentication (RFC 5798); remove it on the "
                        + "keepalived side too (it only works with VRRPv2 there)",
                conf + ":21: 198.51.100.10/24 dev eth0 label eth0:vip: not imported: only the address and prefix are "
                        + "imported: every VIP goes on the vrrp interface, without label, scope or broadcast",
                conf + ":23: notify_master: not imported: vrrp_instance setting without a Tiergate counterpart",
                conf + ":26: vrrp_instance: not imported: a director config has one vrrp section (one instance): "
                        + "import the other instance into the config of another director pair",
                conf + ":38: lb_algo: not imported: scheduler 'lblc' has no Tiergate counterpart (rr, wrr, lc, wlc, "
                        + "sed, nq, sh, mh)",
                conf + ":44: MISC_CHECK: not imported: real_server setting without a Tiergate counterpart",
                "7 item(s) not imported; the rest is on stdout");
        DirectorConfig d = importAndCheck(r);
        VrrpConfig v = d.vrrp().orElseThrow();
        assertThat(v.vrid()).isEqualTo(60);
        assertThat(v.preempt()).as("nopreempt").isFalse();
        assertThat(v.advertInterval()).isEqualTo(Duration.ofSeconds(1));
        assertThat(d.services()).singleElement().satisfies(s -> assertThat(s.realServers())
                .extracting(RealServer::healthCheck).containsOnly(java.util.Optional.empty()));
    }

    @Test
    void ipv6KeepalivedDefaultsAndBrokenFiles() throws Exception {
        Path v6 = dir.resolve("v6.conf");
        Files.writeString(v6, """
                vrrp_instance VI_6 {
                    interface eth0
                    virtual_router_id 43
                    priority 100
                    native_ipv6
                    virtual_ipaddress {
                        2001:db8::10/64
                    }
                }
                virtual_server 2001:db8::10 80 {
                    lb_algo mh
                    real_server 2001:db8::11 80 {
                        TCP_CHECK {
                        }
                    }
                }
                """);
        ConfigCheckTest.Run r = tiergate("config", "import-keepalived", v6.toString());
        assertThat(r.err()).isEmpty();
        assertThat(r.exit()).isZero();
        DirectorConfig d = importAndCheck(r);
        VrrpConfig v = d.vrrp().orElseThrow();
        assertThat(v.ipv6()).isTrue();
        assertThat(v.advertInterval()).as("keepalived's default advert_int").isEqualTo(Duration.ofSeconds(1));
        HealthCheck h = d.services().get(0).realServers().get(0).healthCheck().orElseThrow();
        assertThat(h.interval()).as("keepalived's default delay_loop").isEqualTo(Duration.ofSeconds(60));
        assertThat(h.timeout()).as("keepalived's default connect_timeout").isEqualTo(Duration.ofSeconds(5));
        assertThat(d.services().get(0).realServers().get(0).address().toString()).isEqualTo("[2001:db8::11]:80");

        Path broken = dir.resolve("broken.conf");
        Files.writeString(broken, "vrrp_instance VI_1 {\n  interface eth0\n  advert_int fast\n");
        ConfigCheckTest.Run b = tiergate("config", "import-keepalived", broken.toString());
        assertThat(b.exit()).isEqualTo(3);
        assertThat(b.err()).contains(broken + ":1: '{' is never closed")
                .contains(broken + ":3: advert_int: not imported: 'fast' is not a number of seconds")
                .doesNotContain("\tat ");

        Path deep = dir.resolve("deep.conf");
        Files.writeString(deep, "vrrp_instance VI_1 {\n" + "x {\n".repeat(100_000));
        ConfigCheckTest.Run d2 = tiergate("config", "import-keepalived", deep.toString());
        assertThat(d2.exit()).isEqualTo(3);
        assertThat(d2.err()).contains(deep + ":17: blocks nested deeper than 16").doesNotContain("\tat ");

        ConfigCheckTest.Run missing = tiergate("config", "import-keepalived", dir.resolve("nope.conf").toString());
        assertThat(missing.exit()).isEqualTo(2);
        assertThat(missing.err()).contains("nope.conf: file not found").doesNotContain("\tat ");
    }
}
