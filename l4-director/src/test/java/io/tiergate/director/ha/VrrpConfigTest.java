package io.tiergate.director.ha;

import io.tiergate.shared.config.ConfigMap;
import io.tiergate.shared.config.Problems;
import io.tiergate.shared.config.YamlLoader;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

class VrrpConfigTest {
    private static final String VIP = "an IPv4 or IPv6 address with optional /prefix, e.g. 10.0.0.100/24 or "
            + "2001:db8::100/64";
    private final Problems problems = new Problems();

    @Test
    void ipv6InstanceParses() {
        VrrpConfig c = parse("""
                vrrp:
                  interface: eth1
                  vrid: 52
                  virtual_addresses: ["2001:DB8:0::100/64", "fd77::5"]
                  source_address: "fe80::1"
                  unicast_peers: ["fe80::2", "2001:db8::3"]
                """);
        assertThat(problems.format()).isEmpty();
        assertThat(c.ipv6()).isTrue();
        assertThat(c.virtualAddresses()).extracting(Object::toString)
                .as("RFC 5952 text, /128 when not written: what 'ip -6 address' prints")
                .containsExactly("2001:db8::100/64", "fd77::5/128");
        assertThat(c.sourceAddress()).map(VrrpConfig::text).hasValue("fe80::1");
        assertThat(c.unicastPeers()).extracting(VrrpConfig::text).containsExactly("fe80::2", "2001:db8::3");
    }

    @Test
    void mixedFamiliesInOneInstanceAreRefusedWithTheReason() {
        parse("""
                vrrp:
                  interface: eth0
                  vrid: 7
                  virtual_addresses: [10.0.0.100/24, "fd77::100/64"]
                  unicast_peers: ["fd77::2", 10.0.0.3]
                """);
        List<String> lines = problems.list().stream().map(p -> p.format()).toList();
        assertThat(lines).containsExactly(
                "director.yaml:4:38: vrrp.virtual_addresses[1]: 'fd77::100/64' is IPv6, but the first VIP of this vrrp"
                        + " instance is IPv4: one VRRP instance carries one address family (RFC 5798; keepalived too"
                        + " needs a separate vrrp_instance per family) (expected: only IPv4 VIPs here; put the IPv6"
                        + " VIPs in the vrrp section of another director pair's config)",
                "director.yaml:5:19: vrrp.unicast_peers[0]: 'fd77::2' is IPv6, but the VIPs of this vrrp instance are"
                        + " IPv4: one VRRP instance speaks one address family (expected: an IPv4 address of a peer"
                        + " (the family of the VIPs))");
    }

    @Test
    void ipv6MistakesAreNamed() {
        parse("""
                vrrp:
                  interface: eth0
                  vrid: 7
                  virtual_addresses: ["fd77::1:1", "fd77::100/129", "fe80::9", "ff02::12", "fd77::zz", "::ffff:10.0.0.1"]
                  source_address: "fd77::1"
                """);
        assertThat(problems.format())
                .contains("virtual_addresses[1]: prefix length 129 is out of range (0..128)")
                .contains("virtual_addresses[2]: 'fe80::9' is a link-local or multicast address")
                .contains("virtual_addresses[3]: 'ff02::12' is a link-local or multicast address")
                .contains("virtual_addresses[4]: 'fd77::zz' is not an IPv6 address")
                .contains("virtual_addresses[5]: '::ffff:10.0.0.1' is an IPv4-mapped address")
                .contains("vrrp.source_address: 'fd77::1' is not a link-local address");
    }

    private VrrpConfig parse(String yaml) {
        ConfigMap root = ConfigMap.of(YamlLoader.parse("director.yaml", yaml), problems);
        VrrpConfig c = VrrpConfig.parse(root.mapOrEmpty("vrrp"));
        root.finish();
        return c;
    }

    @Test
    void fullSectionParses() {
        VrrpConfig c = parse("""
                vrrp:
                  interface: eth1
                  vrid: 51
                  priority: 150
                  advert_interval: 50ms
                  preempt: false
                  preempt_delay: 5s
                  virtual_addresses: [10.0.0.100/24, 10.0.0.101]
                  source_address: 10.0.0.2
                  unicast_peers: [10.0.0.3]
                  track_weight: -60
                  garp_count: 5
                  garp_interval: 20ms
                  notify: [/usr/local/bin/vrrp-notify, vip1]
                  realtime: false
                """);
        assertThat(problems.format()).isEmpty();
        assertThat(c.interfaceName()).isEqualTo("eth1");
        assertThat(c.vrid()).isEqualTo(51);
        assertThat(c.priority()).isEqualTo(150);
        assertThat(c.advertIntervalCs()).isEqualTo(5);
        assertThat(c.preempt()).isFalse();
        assertThat(c.preemptDelay()).isEqualTo(Duration.ofSeconds(5));
        assertThat(c.virtualAddresses()).extracting(Object::toString).containsExactly("10.0.0.100/24", "10.0.0.101/32");
        assertThat(c.sourceAddress()).map(a -> a.getHostAddress()).hasValue("10.0.0.2");
        assertThat(c.unicastPeers()).extracting(a -> a.getHostAddress()).containsExactly("10.0.0.3");
        assertThat(c.trackWeight()).isEqualTo(-60);
        assertThat(c.garpCount()).isEqualTo(5);
        assertThat(c.garpInterval()).isEqualTo(Duration.ofMillis(20));
        assertThat(c.notifyCommand()).containsExactly("/usr/local/bin/vrrp-notify", "vip1");
        assertThat(c.realtime()).isFalse();
    }

    @Test
    void defaultsAreFastMulticastPreemptingAndFaultOnUnhealthy() {
        VrrpConfig c = parse("vrrp: {interface: eth0, vrid: 7, virtual_addresses: [192.0.2.1]}\n");
        assertThat(problems.format()).isEmpty();
        assertThat(c.enabled()).isTrue();
        assertThat(c.priority()).isEqualTo(100);
        assertThat(c.advertInterval()).isEqualTo(Duration.ofMillis(100));
        assertThat(c.preempt()).isTrue();
        assertThat(c.unicastPeers()).isEmpty();
        assertThat(c.trackWeight()).isZero();
        assertThat(c.garpCount()).isEqualTo(3);
    }

    @Test
    void everyMistakeIsReportedAtOnceWithPositions() {
        parse("""
                vrrp:
                  vrid: 300
                  priority: 0
                  advert_interval: 15ms
                  virtual_addresses: [10.0.0.300, 10.0.0.1/33, vip.example.com]
                  unicast_peers: [10.0.0]
                  track_weight: 10
                  preemt: true
                """);
        List<String> lines = problems.list().stream().map(p -> p.format()).toList();
        assertThat(lines).containsExactly(
                "director.yaml:2:3: vrrp.interface: missing required key 'interface' (expected: the network interface VRRP runs on, e.g. eth0)",
                "director.yaml:2:9: vrrp.vrid: 300 is out of range (expected: an integer from 1 to 255)",
                "director.yaml:3:13: vrrp.priority: 0 is out of range (expected: an integer from 1 to 255)",
                "director.yaml:4:20: vrrp.advert_interval: advert_interval must be a whole number of centiseconds up to 40.95s"
                        + " (expected: a duration from 10ms to 40950ms in steps of 10ms (VRRPv3 carries centiseconds))",
                "director.yaml:5:23: vrrp.virtual_addresses[0]: '10.0.0.300' is not an IPv4 address"
                        + " (expected: " + VIP + ")",
                "director.yaml:5:35: vrrp.virtual_addresses[1]: prefix length 33 is out of range (0..32)"
                        + " (expected: " + VIP + ")",
                "director.yaml:5:48: vrrp.virtual_addresses[2]: 'vip.example.com' is not an IPv4 address"
                        + " (expected: " + VIP + ")",
                "director.yaml:6:19: vrrp.unicast_peers[0]: '10.0.0' is not an IPv4 address"
                        + " (expected: an IPv4 address of a peer (the family of the VIPs))",
                "director.yaml:7:17: vrrp.track_weight: 10 is out of range (expected: an integer from -254 to 0)",
                "director.yaml:8:3: vrrp.preemt: unknown key 'preemt'; did you mean 'preempt'? (expected: one of enabled,"
                        + " interface, vrid, priority, advert_interval, preempt, preempt_delay, virtual_addresses,"
                        + " source_address, unicast_peers, track_weight, garp_count, garp_interval, notify, realtime,"
                        + " vip_lifetime, garp_master_delay, garp_master_refresh, track_interface, track_script)");
    }

    @Test
    void missingVridAndVipsAreNamed() {
        parse("vrrp:\n  interface: eth0\n");
        assertThat(problems.format())
                .contains("vrrp.vrid: missing required key 'vrid'")
                .contains("vrrp.virtual_addresses: missing required key 'virtual_addresses'");
    }

    @Test
    void ownershipDefaultsFollowKeepalivedAndTheAdvertInterval() {
        VrrpConfig fast = parse("vrrp:\n  interface: eth0\n  vrid: 1\n  advert_interval: 50ms\n  virtual_addresses: [10.0.0.1]\n");
        assertThat(problems.format()).isEmpty();
        assertThat(fast.ownership()).isEqualTo(new VrrpConfig.Ownership(Duration.ofSeconds(1), Duration.ofSeconds(5),
                Duration.ZERO));
        assertThat(VrrpConfig.Ownership.autoLifetime(Duration.ofSeconds(1))).isEqualTo(Duration.ofSeconds(1));
        assertThat(VrrpConfig.Ownership.autoLifetime(Duration.ofSeconds(3))).isEqualTo(Duration.ofSeconds(5));
        VrrpConfig set = parse("""
                vrrp:
                  interface: eth0
                  vrid: 1
                  virtual_addresses: [10.0.0.1]
                  vip_lifetime: forever
                  garp_master_delay: 0s
                  garp_master_refresh: 60s
                """);
        assertThat(problems.format()).isEmpty();
        assertThat(set.ownership()).isEqualTo(new VrrpConfig.Ownership(Duration.ZERO, Duration.ZERO, Duration.ofSeconds(60)));
    }

    @Test
    void ownershipMistakesAreNamedPrecisely() {
        parse("""
                vrrp:
                  interface: eth0
                  vrid: 1
                  virtual_addresses: [10.0.0.1]
                  garp_count: 5
                  garp_interval: 100ms
                  garp_master_delay: 300ms
                  garp_master_refresh: 200ms
                  vip_lifetime: 1500ms
                """);
        assertThat(problems.list().stream().map(p -> p.format()).toList()).containsExactly(
                "director.yaml:7:22: vrrp.garp_master_delay: garp_master_delay 300ms would start the second burst before"
                        + " the first (5 × garp_interval) ends (expected: 0s (no second burst) or more than 400ms)",
                "director.yaml:8:24: vrrp.garp_master_refresh: garp_master_refresh 200ms would flood the segment with ARP"
                        + " (expected: 0s (off) or a duration from 1s to 1d, e.g. 60s)",
                "director.yaml:9:17: vrrp.vip_lifetime: vip_lifetime must be whole seconds up to 1d (the kernel counts"
                        + " valid_lft in seconds) (expected: auto (2 × advert_interval − 1s, at least 1s), forever, or"
                        + " whole seconds from 1s to 1d)");
    }

    @Test
    void trackingParsesTheKeepalivedWay() {
        VrrpConfig c = parse("""
                vrrp:
                  interface: eth0
                  vrid: 1
                  virtual_addresses: [10.0.0.1]
                  track_interface: [eth1, {name: bond0, weight: -50}]
                  track_script:
                    - {name: chk_haproxy, script: "/usr/bin/pgrep -x haproxy", interval: 2s, fall: 2, rise: 3, weight: 20}
                    - {name: chk_file, script: [/usr/bin/test, -f, /run/ok file], timeout: 500ms, init_fail: true}
                """);
        assertThat(problems.format()).isEmpty();
        assertThat(c.tracking().interfaces()).containsExactly(new VrrpTracking.Interface("eth1", 0),
                new VrrpTracking.Interface("bond0", -50));
        assertThat(c.tracking().scripts()).containsExactly(
                new VrrpTracking.Script("chk_haproxy", List.of("/usr/bin/pgrep", "-x", "haproxy"), Duration.ofSeconds(2),
                        Duration.ofSeconds(2), 3, 2, 20, false),
                new VrrpTracking.Script("chk_file", List.of("/usr/bin/test", "-f", "/run/ok file"), Duration.ofSeconds(1),
                        Duration.ofMillis(500), 1, 1, 0, true));
    }

    @Test
    void trackingMistakesAreNamed() {
        parse("""
                vrrp:
                  interface: eth0
                  vrid: 1
                  virtual_addresses: [10.0.0.1]
                  track_interface: [eth1, eth1, "a/b"]
                  track_script:
                    - {name: chk, interval: 1s, timeout: 2s, weight: 300}
                    - {name: chk, script: [true]}
                """);
        assertThat(problems.list().stream().map(p -> p.format()).toList()).containsExactly(
                "director.yaml:5:27: vrrp.track_interface[1]: track_interface 'eth1' is listed twice (expected: each interface once)",
                "director.yaml:5:33: vrrp.track_interface[2]: 'a/b' is not an interface name (expected: an interface name, e.g. eth1)",
                "director.yaml:7:7: vrrp.track_script[0].script: missing required key 'script' (expected: the command and its"
                        + " arguments, e.g. [/usr/bin/pgrep, -x, haproxy] (no shell))",
                "director.yaml:7:42: vrrp.track_script[0].timeout: timeout 2000ms is longer than interval 1000ms (a check still"
                        + " running when the next is due would be skipped) (expected: at most the interval)",
                "director.yaml:7:54: vrrp.track_script[0].weight: 300 is out of range (expected: an integer from -253 to 253)",
                "director.yaml:8:14: vrrp.track_script[1].name: track_script 'chk' is listed twice (expected: unique names)");
    }

    @Test
    void switchingTheFamilyOnReloadNeedsANewInstance() {
        VrrpConfig v4 = VrrpConfig.of("eth0", 42, 100, Duration.ofMillis(50), List.of("10.0.0.100/24"));
        VrrpConfig v6 = VrrpConfig.of("eth0", 42, 100, Duration.ofMillis(50), List.of("fd88::100/64"));
        assertThat(VrrpReload.restartReason(v4, v6)).hasValueSatisfying(why ->
                assertThat(why).contains("address family").contains("IPv4").contains("IPv6"));
        assertThat(VrrpReload.restartReason(v6, VrrpConfig.of("eth0", 42, 100, Duration.ofMillis(50),
                List.of("fd88::100/64", "fd88::101")))).as("another IPv6 VIP applies live").isEmpty();
    }
}
