package io.tiergate.director.bgp;

import io.tiergate.director.config.DirectorConfig;
import io.tiergate.shared.config.ConfigMap;
import io.tiergate.shared.config.Problems;
import io.tiergate.shared.config.YamlLoader;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;

import static org.assertj.core.api.Assertions.assertThat;

class BgpConfigTest {

    static DirectorConfig parse(String bgp, Problems problems) {
        String yaml = "director:\n  dataplane: userspace\n  services:\n"
                + "    web: {vip: 10.0.0.100:80, real_servers: [10.0.0.11:80]}\n"
                + "    web6: {vip: '[2001:db8::100]:80', real_servers: ['[2001:db8::11]:80']}\n"
                + "    dns: {vip: 10.0.0.100:53, protocol: udp, real_servers: [10.0.0.11:53]}\n"
                + "  bgp:\n" + bgp.indent(4);
        ConfigMap root = ConfigMap.of(YamlLoader.parse("d.yaml", yaml), problems);
        DirectorConfig cfg = DirectorConfig.parse(root.mapOrEmpty("director"));
        root.finish();
        return cfg;
    }

    @Test
    void aFullSectionParsesAndTheVipsComeFromTheServices() {
        Problems problems = new Problems();
        DirectorConfig cfg = parse("""
                local_as: 65010
                router_id: 10.0.0.11
                neighbors:
                  - {address: 10.0.0.1, remote_as: 65000, password: s3cret-Key}
                  - {address: '2001:db8::1', remote_as: 65000}
                hold_time: 3s
                keepalive_time: 1s
                bfd: {interval: 50ms, multiplier: 5}
                communities: ['65010:100', '0:666']
                med: 20
                convergence_delay: 500ms
                """, problems);
        assertThat(problems.format()).isEmpty();
        BgpConfig b = cfg.bgp().orElseThrow();
        assertThat(b.localAs()).isEqualTo(65010);
        assertThat(b.neighbors()).extracting(BgpConfig.Neighbor::address).containsExactly("10.0.0.1", "2001:db8::1");
        assertThat(b.neighbors().get(0).password()).contains("s3cret-Key");
        assertThat(b.neighbors().get(0).toString()).doesNotContain("s3cret");
        assertThat(b.holdTime()).isEqualTo(Duration.ofSeconds(3));
        assertThat(b.bfd()).contains(new BgpConfig.Bfd(Duration.ofMillis(50), 5));
        assertThat(b.communities()).extracting(Object::toString).containsExactly("65010:100", "0:666");
        assertThat(b.med()).contains(20L);
        // Two services share 10.0.0.100: one prefix; the IPv6 VIP as a /128.
        assertThat(cfg.vipPrefixes()).containsExactly("10.0.0.100/32", "2001:db8::100/128");
    }

    @Test
    void defaultsAreAManagedBirdWithBfdOff() {
        Problems problems = new Problems();
        BgpConfig b = parse("local_as: 65010\nrouter_id: 10.0.0.11\nneighbors: [{address: 10.0.0.1, remote_as: 65000}]\n",
                problems).bgp().orElseThrow();
        assertThat(problems.format()).isEmpty();
        assertThat(b.bfd()).isEmpty();
        assertThat(b.holdTime()).isEqualTo(Duration.ofSeconds(9));
        assertThat(b.keepaliveTime()).isEqualTo(Duration.ofSeconds(3));
        assertThat(b.bird().attached()).isFalse();
        assertThat(b.bird().runtimeDir()).isEqualTo(Path.of("/run/tiergate/bgp"));
        Problems p2 = new Problems();
        assertThat(parse("local_as: 1\nrouter_id: 10.0.0.11\nbfd: on\nneighbors: [{address: 10.0.0.1, remote_as: 2}]\n",
                p2).bgp().orElseThrow().bfd()).contains(new BgpConfig.Bfd(Duration.ofMillis(100), 3));
    }

    @Test
    void everyMistakeIsReportedWithItsPlace() {
        Problems problems = new Problems();
        parse("""
                local_as: 0
                router_id: 2001:db8::1
                neighbors:
                  - {address: router1, remote_as: 65000}
                  - {address: 10.0.0.2}
                  - {address: 10.0.0.3, remote_as: 1, password: 'a" ; }; protocol kernel {'}
                  - {address: 10.0.0.3, remote_as: 1}
                hold_time: 2s
                keepalive_time: 5s
                bfd: {interval: 5ms, multipler: 3}
                communities: ['65536:1', 'nope']
                bird: {socket: /run/bird/bird.ctl}
                """, problems);
        String text = problems.format();
        assertThat(text)
                .contains("d.yaml:8:15: director.bgp.local_as: 0 is out of range")
                .contains("d.yaml:9:16: director.bgp.router_id: '2001:db8::1' is not an IPv4 address")
                .contains("d.yaml:11:19: director.bgp.neighbors[0].address: 'router1' is not an IP address")
                .contains("missing required key 'remote_as'")
                .contains("password must be 1..80 printable ASCII characters without spaces, quotes or backslashes")
                .contains("neighbor 10.0.0.3 is listed twice")
                .contains("director.bgp.hold_time: hold_time must be 0 or whole seconds from 3s to 65535s")
                .contains("director.bgp.bfd.multipler: unknown key 'multipler'; did you mean 'multiplier'?")
                .contains("director.bgp.bfd.interval")
                .contains("'65536:1' is not a standard community")
                .contains("'nope' is not a standard community")
                .contains("attaching to a running BIRD (bird.socket) needs routes_file");
    }

    @Test
    void bgpAndVrrpTogetherAreRefused() {
        Problems problems = new Problems();
        String yaml = """
                director:
                  services:
                    web: {vip: 10.0.0.100:80, real_servers: [10.0.0.11:80]}
                  vrrp: {interface: eth0, vrid: 7, virtual_addresses: [10.0.0.100/24]}
                  bgp:
                    local_as: 65010
                    router_id: 10.0.0.11
                    neighbors: [{address: '2001:db8::1', remote_as: 65000}]
                """;
        ConfigMap root = ConfigMap.of(YamlLoader.parse("d.yaml", yaml), problems);
        DirectorConfig.parse(root.mapOrEmpty("director"));
        assertThat(problems.format())
                .contains("d.yaml:6:15: director.bgp.local_as: bgp and vrrp are two ways to own the VIPs")
                .contains("neighbor 2001:db8::1 is IPv6 but no service has an IPv6 VIP");
    }

    @Test
    void theGeneratedBirdConfigIsAcceptedByBird() throws Exception {
        Path bird = Path.of("/usr/sbin/bird");
        org.junit.jupiter.api.Assumptions.assumeTrue(Files.isExecutable(bird), "skipped: BIRD 2 not installed (apt-get install bird2)");
        Problems problems = new Problems();
        DirectorConfig cfg = parse("""
                local_as: 65010
                router_id: 10.0.0.11
                neighbors:
                  - {address: 10.0.0.1, remote_as: 65000, password: 's3cret'}
                  - {address: '2001:db8::1', remote_as: 4200000000, port: 1179}
                bfd: on
                communities: ['65010:100']
                med: 5
                """, problems);
        assertThat(problems.format()).isEmpty();
        Path dir = Files.createTempDirectory("tg-bird-conf");
        try {
            for (List<String> announced : List.of(List.<String>of(), cfg.vipPrefixes())) {
                String text = BirdConf.full(cfg.bgp().get(), announced);
                Path f = dir.resolve("bird.conf");
                Files.writeString(f, text);
                Process p = new ProcessBuilder(bird.toString(), "-p", "-c", f.toString()).redirectErrorStream(true).start();
                String out = new String(p.getInputStream().readAllBytes());
                assertThat(p.waitFor()).as("bird -p on:\n" + text + "\n" + out).isZero();
            }
            assertThat(BirdConf.full(cfg.bgp().get(), cfg.vipPrefixes()))
                    .contains("route 10.0.0.100/32 blackhole;", "route 2001:db8::100/128 blackhole;",
                            "bgp_community.add((65010, 100));", "bgp_med = 5;", "bfd on;", "password \"s3cret\";");
        } finally {
            try (var s = Files.walk(dir)) {
                s.sorted(java.util.Comparator.reverseOrder()).forEach(x -> x.toFile().delete());
            }
        }
        assertThat(Optional.of(1)).isPresent();
    }
}
