package io.tiergate.director.config;

import io.tiergate.director.dataplane.DataplaneKind;
import io.tiergate.director.model.ForwardingMethod;
import io.tiergate.director.model.OnFailure;
import io.tiergate.director.model.Protocol;
import io.tiergate.director.model.Scheduler;
import io.tiergate.director.model.VirtualService;
import io.tiergate.shared.config.ConfigMap;
import io.tiergate.shared.config.Problems;
import io.tiergate.shared.config.YamlLoader;
import io.tiergate.shared.health.HealthCheck;
import org.junit.jupiter.api.Test;

import java.time.Duration;

import static org.assertj.core.api.Assertions.assertThat;

class DirectorConfigTest {

    static DirectorConfig parse(String yaml, Problems problems) {
        ConfigMap root = ConfigMap.of(YamlLoader.parse("d.yaml", yaml), problems);
        DirectorConfig cfg = DirectorConfig.parse(root.mapOrEmpty("director"));
        root.finish();
        return cfg;
    }

    /** Problems of a director on dataplane nft (interface eth0) with these service lines. */
    static String nftProblems(String... services) {
        Problems problems = new Problems();
        parse("director:\n  dataplane: nft\n  interface: eth0\n  services:\n    "
                + String.join("\n    ", services) + "\n", problems);
        return problems.format();
    }

    @Test
    void aFullServiceParsesWithEveryKey() {
        Problems problems = new Problems();
        DirectorConfig cfg = parse("""
                director:
                  dataplane: nft
                  interface: eth0
                  hash_seed: 0x1
                  maglev_size: 65537
                  repair_interval: 5s
                  admin: 127.0.0.1:9999
                  services:
                    web:
                      vip: 10.0.0.100:80
                      scheduler: mh
                      method: dr
                      persistence: {timeout: 10m, netmask: 255.255.255.255}
                      quorum: 2
                      on_failure: remove
                      sorry_server: 10.0.0.50:80
                      health: {type: http, path: /healthz, interval: 100ms, timeout: 50ms, fall: 2, rise: 1, expect_status: [200, 204]}
                      real_servers:
                        - 10.0.0.11
                        - {address: 10.0.0.12:80, weight: 3, health: {type: tcp}}
                    dns:
                      vip: 10.0.0.100:53
                      protocol: udp
                      method: nat
                      scheduler: sh
                      real_servers: [{address: resolver.internal:5353, weight: 2}]
                """.replace("0x1", "1"), problems);
        assertThat(problems.format()).as("a complete, valid director section has no problems").isEmpty();
        assertThat(cfg.dataplane()).isEqualTo(DataplaneKind.NFT);
        assertThat(cfg.hashSeed()).isEqualTo(1);
        assertThat(cfg.maglevSize()).isEqualTo(65537);
        assertThat(cfg.admin()).map(Object::toString).contains("127.0.0.1:9999");
        VirtualService web = cfg.service("web").orElseThrow();
        assertThat(web.key().toString()).isEqualTo("tcp/10.0.0.100:80");
        assertThat(web.scheduler()).isEqualTo(Scheduler.MAGLEV);
        assertThat(web.method()).isEqualTo(ForwardingMethod.DIRECT_ROUTE);
        assertThat(web.persistence().timeout()).isEqualTo(Duration.ofMinutes(10));
        assertThat(web.onFailure()).isEqualTo(OnFailure.REMOVE);
        assertThat(web.realServers()).extracting(r -> r.id() + "@" + r.weight())
                .as("a bare address takes the VIP port and weight 1").containsExactly("10.0.0.11:80@1", "10.0.0.12:80@3");
        HealthCheck inherited = web.realServers().get(0).healthCheck().orElseThrow();
        assertThat(inherited.type()).isEqualTo(HealthCheck.Type.HTTP);
        assertThat(inherited.interval()).isEqualTo(Duration.ofMillis(100));
        assertThat(inherited.expectStatus()).containsExactlyInAnyOrder(200, 204);
        HealthCheck overridden = web.realServers().get(1).healthCheck().orElseThrow();
        assertThat(overridden.type()).as("a real server's health_check overrides only what it sets").isEqualTo(HealthCheck.Type.TCP);
        assertThat(overridden.interval()).isEqualTo(Duration.ofMillis(100));
        VirtualService dns = cfg.service("dns").orElseThrow();
        assertThat(dns.key().protocol()).isEqualTo(Protocol.UDP);
        assertThat(dns.realServers().get(0).address().host()).as("DNS names stay names").isEqualTo("resolver.internal");
    }

    @Test
    void defaultsAreSensible() {
        Problems problems = new Problems();
        DirectorConfig cfg = parse("""
                director:
                  services:
                    web: {vip: 127.0.0.1:8080, real_servers: [127.0.0.1:9001]}
                """, problems);
        assertThat(problems.isEmpty()).isTrue();
        assertThat(cfg.dataplane()).isEqualTo(DataplaneKind.AUTO);
        VirtualService web = cfg.services().get(0);
        assertThat(web.scheduler()).isEqualTo(Scheduler.WEIGHTED_ROUND_ROBIN);
        assertThat(web.method()).isEqualTo(ForwardingMethod.DIRECT_ROUTE);
        assertThat(web.onFailure()).isEqualTo(OnFailure.WEIGHT0);
        assertThat(web.quorum()).isEqualTo(1);
        assertThat(web.realServers().get(0).address().port()).isEqualTo(9001);
        assertThat(web.realServers().get(0).healthCheck()).as("a TCP check is on by default")
                .map(HealthCheck::type).contains(HealthCheck.Type.TCP);
        assertThat(cfg.admin()).map(Object::toString).contains("127.0.0.1:9180");
    }

    @Test
    void schedulersNftCannotDoAreErrorsNamingTheDataplanesThatCan() {
        Problems problems = new Problems();
        parse("""
                director:
                  dataplane: nft
                  interface: eth0
                  services:
                    web: {vip: 10.0.0.100:80, scheduler: lc, real_servers: [10.0.0.11]}
                    tun: {vip: "[2001:db8::100]:81", method: tunnel, real_servers: ["[2001:db8::11]:81"]}
                    pp: {vip: 10.0.0.100:82, method: nat, proxy_protocol: true, real_servers: [10.0.0.11]}
                """, problems);
        assertThat(problems.format())
                .as("each at the key that asks for it, not at dataplane:")
                .contains("d.yaml:5:42: director.services.web.scheduler: scheduler 'lc' needs the ipvs or userspace"
                        + " dataplane (nft can do rr, wrr, sh, mh) (with dataplane: nft)")
                .contains("director.services.tun.method: method 'tunnel' on nft is IPIP, which carries IPv4 only"
                        + " (the VIP 2001:db8::100 is IPv6); use method dr, or the ipvs dataplane")
                .contains("director.services.pp.proxy_protocol: proxy_protocol needs the userspace dataplane");
    }

    @Test
    void nftTakesIpipTunnelServicesAndNeedsTheIngressInterfaceForThem() {
        Problems ok = new Problems();
        parse("""
                director:
                  dataplane: nft
                  interface: eth0
                  services:
                    far: {vip: 10.0.0.100:80, method: tunnel, scheduler: mh, real_servers: [10.1.0.11, 10.2.0.12]}
                """, ok);
        assertThat(ok.format()).as("IPv4 tunnel real servers on nft").isEmpty();
        Problems noInterface = new Problems();
        parse("""
                director:
                  dataplane: nft
                  services:
                    far: {vip: 10.0.0.100:80, method: tunnel, real_servers: [10.1.0.11]}
                    moved: {vip: 10.0.0.100:81, method: tunnel, real_servers: [10.1.0.11:8081]}
                """, noInterface);
        assertThat(noInterface.format())
                .contains("director.services.far.method: method 'tunnel' on nft needs director.interface")
                .contains("director.services.moved.real_servers: real server 10.1.0.11:8081: method 'tunnel' cannot"
                        + " change the port (the VIP port is 81); use method nat");
    }

    @Test
    void autoAndUserspaceAcceptEveryScheduler() {
        for (String dp : new String[] {"auto", "userspace"}) {
            Problems problems = new Problems();
            parse("director:\n  dataplane: " + dp + "\n  services:\n    web: {vip: 10.0.0.100:80, scheduler: wlc, real_servers: [10.0.0.11]}\n", problems);
            assertThat(problems.format()).as("dataplane " + dp + " runs wlc").isEmpty();
        }
    }

    @Test
    void everyMistakeIsReportedAtOnceWithItsPlace() {
        Problems problems = new Problems();
        parse("""
                director:
                  dataplane: ebpf
                  servics: {}
                  services:
                    web:
                      vip: www.example.com:80
                      schedular: rr
                      real_servers:
                        - {address: 10.0.0.11:80, weight: -1}
                        - 10.0.0.12:80
                        - 10.0.0.12:80
                    web2:
                      vip: 10.0.0.1:80
                      persistence: {netmask: 255.0.255.0}
                      real_servers: []
                """, problems);
        assertThat(problems.format())
                .contains("d.yaml:2:14: director.dataplane: unknown value 'ebpf'")
                .contains("director.servics: unknown key 'servics'; did you mean 'services'?")
                .contains("director.services.web.vip: 'www.example.com' is not an IP address")
                .contains("director.services.web.schedular: unknown key 'schedular'; did you mean 'scheduler'?")
                .contains("weight: -1 is out of range")
                .contains("real server 10.0.0.12:80 is listed twice")
                .contains("'255.0.255.0' is not a contiguous netmask")
                .contains("director.services.web2.real_servers: no real servers");
    }

    @Test
    void capabilityErrorsComeWithEveryOtherErrorEachAtItsOwnKey() {
        Problems problems = new Problems();
        parse("""
                director:
                  dataplane: nft
                  interface: eth0
                  repair_interval: soon
                  services:
                    web: {vip: 10.0.0.100:80, scheduler: lc, real_servers: [10.0.0.11]}
                    bad: {vip: 10.0.0.100:81, real_servers: []}
                """, problems);
        assertThat(problems.format())
                .as("the syntax-level errors and the dataplane's limits in one run")
                .contains("d.yaml:4:20: director.repair_interval:")
                .contains("director.services.bad.real_servers: no real servers")
                .contains("d.yaml:6:42: director.services.web.scheduler: scheduler 'lc' needs the ipvs or userspace")
                .doesNotContain("director.dataplane:");
    }

    @Test
    void drCannotChangeThePortOnKernelDataplanes() {
        assertThat(nftProblems("web: {vip: 10.0.0.100:80, method: dr, real_servers: [10.0.0.11:8080]}")).contains("real server 10.0.0.11:8080: method 'dr' cannot change the port");
    }

    @Test
    void nftTakesIpv6VipsWhoseRealServersAreIpv6Too() {
        assertThat(nftProblems("web6: {vip: \"[fd77::100]:80\", real_servers: [\"[fd77::11]:80\", \"[fd77::12]:80\"]}",
                "nat6: {vip: \"[fd77::100]:81\", method: nat, real_servers: [\"[fd77::11]:8081\"]}"))
                .as("IPv6 DR and NAT services are expressible on nft").isEmpty();
        assertThat(nftProblems("web6: {vip: \"[fd77::100]:80\", real_servers: [\"10.0.0.11:80\", \"[fd77::12]:80\"]}",
                "web4: {vip: 10.0.0.100:80, real_servers: [\"[fd77::11]:80\"]}"))
                .contains("director.services.web6.real_servers: real server 10.0.0.11:80 is IPv4 but the VIP fd77::100 is IPv6: nft forwards "
                        + "within one address family; give the real server an IPv6 address (or use the userspace "
                        + "dataplane, which proxies across families)")
                .contains("director.services.web4.real_servers: real server [fd77::11]:80 is IPv6 but the VIP 10.0.0.100 is IPv4")
                .doesNotContain("[fd77::12]:80 is");
    }

    @Test
    void ipv6AddressesAreKeptInTheFormTheKernelPrintsBack() {
        Problems problems = new Problems();
        DirectorConfig cfg = parse("""
                director:
                  services:
                    web6: {vip: "[FD77:0::100]:80", real_servers: ["[fd77:0:0::11]:80", {address: "[fd77::0:12]:80"}]}
                """, problems);
        assertThat(problems.format()).isEmpty();
        var svc = cfg.services().get(0);
        assertThat(svc.key().vip()).as("nft and ipvsadm print fd77::100; counters and pins are joined on it")
                .isEqualTo("fd77::100");
        assertThat(svc.realServers()).extracting(rs -> rs.address().toString())
                .containsExactly("[fd77::11]:80", "[fd77::12]:80");
        Problems twice = new Problems();
        parse("""
                director:
                  services:
                    web6: {vip: "[fd77::100]:80", real_servers: ["[fd77::11]:80", "[fd77:0::11]:80"]}
                """, twice);
        assertThat(twice.format()).as("two spellings of one address are one real server")
                .contains("real server [fd77::11]:80 is listed twice");
    }

    @Test
    void twoServicesOnTheSameVipPortAreRejected() {
        Problems problems = new Problems();
        parse("""
                director:
                  services:
                    a: {vip: 10.0.0.100:80, real_servers: [10.0.0.11]}
                    b: {vip: 10.0.0.100:80, real_servers: [10.0.0.12]}
                """, problems);
        assertThat(problems.format()).contains("service 'b' uses tcp/10.0.0.100:80 like service 'a'");
    }

    @Test
    void aVrrpSectionIsParsedWithTheDirector() {
        Problems problems = new Problems();
        DirectorConfig cfg = parse("""
                director:
                  dataplane: nft
                  interface: eth0
                  vrrp:
                    interface: eth0
                    vrid: 77
                    priority: 150
                    advert_interval: 50ms
                    track_weight: -60
                    virtual_addresses: [10.0.0.100/32]
                  services:
                    web: {vip: 10.0.0.100:80, scheduler: mh, real_servers: [10.0.0.11]}
                """, problems);
        assertThat(problems.format()).isEmpty();
        var v = cfg.vrrp().orElseThrow();
        assertThat(v.vrid()).isEqualTo(77);
        assertThat(v.priority()).isEqualTo(150);
        assertThat(v.advertInterval()).isEqualTo(Duration.ofMillis(50));
        assertThat(v.trackWeight()).isEqualTo(-60);
        assertThat(v.virtualAddresses()).extracting(Object::toString).containsExactly("10.0.0.100/32");
    }

    @Test
    void withoutAVrrpSectionOrWithEnabledFalseThereIsNoVrrp() {
        Problems problems = new Problems();
        DirectorConfig none = parse("""
                director:
                  services: {web: {vip: 10.0.0.100:80, real_servers: [10.0.0.11]}}
                """, problems);
        DirectorConfig off = parse("""
                director:
                  vrrp: {enabled: false, interface: eth0, vrid: 1, virtual_addresses: [10.0.0.100]}
                  services: {web: {vip: 10.0.0.100:80, real_servers: [10.0.0.11]}}
                """, problems);
        assertThat(problems.format()).isEmpty();
        assertThat(none.vrrp()).isEmpty();
        assertThat(off.vrrp()).isEmpty();
    }

    @Test
    void vrrpProblemsAreReportedWithPositionsTogetherWithTheRest() {
        Problems problems = new Problems();
        parse("""
                director:
                  vrrp:
                    interface: eth0
                    vrid: 300
                    advert_interval: 15ms
                    virtual_addresses: [10.0.0.100, not-an-ip]
                    preemt: false
                  services:
                    web: {vip: 10.0.0.100:80, real_servers: [10.0.0.11], scheduler: nope}
                """, problems);
        String text = problems.format();
        assertThat(text).contains("d.yaml:4:").contains("vrid");
        assertThat(text).contains("d.yaml:5:").contains("centiseconds");
        assertThat(text).contains("d.yaml:6:").contains("'not-an-ip' is not an IPv4 address");
        assertThat(text).contains("d.yaml:7:").contains("preemt");
        assertThat(text).as("the services' problems are reported in the same run").contains("nope");
    }

    @Test
    void aServiceVipThatVrrpDoesNotCarryIsAProblem() {
        Problems problems = new Problems();
        parse("""
                director:
                  vrrp: {interface: eth0, vrid: 7, virtual_addresses: [10.0.0.100/24]}
                  services:
                    web: {vip: 10.0.0.100:80, real_servers: [10.0.0.11]}
                    api: {vip: 10.0.0.101:443, real_servers: [10.0.0.11]}
                    marked: {fwmark: 5, real_servers: [10.0.0.11:80]}
                """, problems);
        assertThat(problems.format()).contains("d.yaml:5:").contains("service 'api' has VIP 10.0.0.101")
                .doesNotContain("service 'web' has VIP").doesNotContain("'marked'");
    }

    @Test
    void serviceVipsMustBeOfTheVrrpFamily() {
        Problems problems = new Problems();
        parse("""
                director:
                  vrrp: {interface: eth0, vrid: 7, virtual_addresses: ["fd77:0::100/64"]}
                  services:
                    web6: {vip: "[fd77::100]:80", real_servers: ["[fd77::11]"]}
                    web: {vip: 10.0.0.100:80, real_servers: [10.0.0.11]}
                    other6: {vip: "[fd77::101]:80", real_servers: ["[fd77::11]"]}
                """, problems);
        assertThat(problems.format())
                .contains("service 'web' has IPv4 VIP 10.0.0.100, but director.vrrp carries IPv6 VIPs: one VRRP "
                        + "instance carries one address family")
                .contains("service 'other6' has VIP fd77::101, which vrrp.virtual_addresses does not list")
                .contains("e.g. [fd77::101/128]")
                .doesNotContain("'web6' has");
    }
}
