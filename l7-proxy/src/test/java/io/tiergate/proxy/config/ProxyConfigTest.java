package io.tiergate.proxy.config;

import io.tiergate.shared.config.ConfigMap;
import io.tiergate.shared.config.Problems;
import io.tiergate.shared.config.YamlLoader;
import org.junit.jupiter.api.Test;

import java.time.Duration;

import static org.assertj.core.api.Assertions.assertThat;

class ProxyConfigTest {
    static final String VALID = """
            proxy:
              node_name: edge-1
              add_node_header: X-Tiergate-Node
              listeners:
                - {name: http, address: 127.0.0.1:0}
              timeouts: {client_header: 5s, upstream_read: 2s}
              limits: {max_body_size: 2m}
              forwarding: {trusted_proxies: [10.0.0.0/8, "::1"]}
              body_buffer: {memory: 16k, max: 4m}
              retry:
                on: [connect_error, http_503]
                tries: 4
                budget: {ratio: 0.5, min: 2}
              upstreams:
                app:
                  balance: least_conn
                  servers:
                    - {address: 127.0.0.1:9001, weight: 3}
                    - {address: 127.0.0.1:9002, backup: true, max_fails: 2, fail_timeout: 5s}
              servers:
                - server_names: [example.com, "*.example.com"]
                  default: true
                  locations:
                    - {prefix: /, upstream: app}
                    - {exact: /login, upstream: app, retry: {non_idempotent: true}}
                    - {regex: '\\.php$', case_insensitive: true, upstream: app}
            """;

    static ProxyConfig parse(String yaml, Problems problems) {
        ConfigMap root = ConfigMap.of(YamlLoader.parse("p.yaml", yaml), problems);
        ProxyConfig c = ProxyConfig.parse(root.mapOrEmpty("proxy"));
        root.finish();
        return c;
    }

    @Test
    void aCompleteConfigParsesWithEveryValueAndInheritedDefaults() {
        Problems problems = new Problems();
        ProxyConfig c = parse(VALID, problems);
        assertThat(problems.format()).as("a valid config should have no problems").isEmpty();
        assertThat(c.nodeName()).isEqualTo("edge-1");
        assertThat(c.nodeHeader()).isEqualTo("X-Tiergate-Node");
        assertThat(c.timeouts().clientHeader()).isEqualTo(Duration.ofSeconds(5));
        assertThat(c.timeouts().keepalive()).as("unset timeouts keep their default").isEqualTo(Duration.ofSeconds(60));
        assertThat(c.limits().maxBodySize()).isEqualTo(2 * 1024 * 1024);
        assertThat(c.forwarding().trusts("10.1.2.3")).as("10.1.2.3 is inside 10.0.0.0/8").isTrue();
        assertThat(c.forwarding().trusts("11.1.2.3")).isFalse();
        assertThat(c.forwarding().trusts("0:0:0:0:0:0:0:1")).isTrue();
        assertThat(c.retry().tries()).isEqualTo(4);
        assertThat(c.retry().on()).containsExactlyInAnyOrder(RetryCondition.CONNECT_ERROR, RetryCondition.HTTP_503);
        UpstreamConfig app = c.upstreams().get("app");
        assertThat(app.balance()).isEqualTo(Balance.LEAST_CONN);
        assertThat(app.servers().get(0).weight()).isEqualTo(3);
        assertThat(app.servers().get(1).backup()).isTrue();
        assertThat(app.servers().get(1).failTimeout()).isEqualTo(Duration.ofSeconds(5));
        LocationConfig login = c.servers().get(0).locations().get(1);
        assertThat(login.retry().nonIdempotent()).as("the location override is applied").isTrue();
        assertThat(login.retry().tries()).as("and the rest is inherited from proxy.retry").isEqualTo(4);
    }

    @Test
    void drModeTunnelCarriesTheTunnelMtuAndMistakesAreNamed() {
        String base = "proxy:\n  listeners: [{name: a, address: 127.0.0.1:8080}]\n  upstreams: {u: {servers: [127.0.0.1:9000]}}\n"
                + "  servers: [{default: true, locations: [{prefix: /, upstream: u}]}]\n";
        Problems ok = new Problems();
        ProxyConfig c = parse(base + "  dr: {vips: [10.0.0.100], mode: tunnel, tunnel_mtu: 1400}\n", ok);
        assertThat(ok.format()).isEmpty();
        assertThat(c.drTunnel()).isEqualTo(new ProxyConfig.DrTunnel(true, 1400));
        assertThat(c.drTunnel().mss()).isEqualTo(1360);
        assertThat(parse(base + "  dr: {vips: [10.0.0.100]}\n", new Problems()).drTunnel()).isEqualTo(ProxyConfig.DrTunnel.OFF);
        Problems bad = new Problems();
        parse(base + "  dr: {vips: [10.0.0.100], mode: ipip}\n", bad);
        assertThat(bad.format()).contains("proxy.dr.mode: unknown mode 'ipip'")
                .contains("dr (the director shares this node's L2 segment) or tunnel");
        Problems stray = new Problems();
        parse(base + "  dr: {vips: [10.0.0.100], tunnel_mtu: 1400}\n", stray);
        assertThat(stray.format()).contains("proxy.dr.tunnel_mtu: tunnel_mtu applies to mode tunnel only");
    }

    @Test
    void everyMistakeIsReportedWithItsPositionAndWhatWasExpected() {
        String yaml = """
                proxy:
                  listeners:
                    - {address: "0.0.0.0"}
                  retry: {on: [connect_eror], tries: 0}
                  upstreams:
                    app:
                      balance: roundrobin
                      servers:
                        - {address: 10.0.0.1:80, weight: 0}
                        - {address: 10.0.0.1:80}
                  servers:
                    - server_names: ["a.*.com"]
                      locations:
                        - {prefix: api, upstream: ap}
                        - {regex: "(", upstream: app}
                        - {exact: /x, prefix: /y, upstream: app}
                  timeout: {}
                """;
        Problems problems = new Problems();
        parse(yaml, problems);
        String out = problems.format();
        assertThat(out).contains("p.yaml:3:17: proxy.listeners[0].address: '0.0.0.0' has no port");
        assertThat(out).contains("unknown value 'connect_eror'; did you mean 'connect_error'?");
        assertThat(out).contains("proxy.retry.tries: 0 is out of range (expected: an integer from 1 to 20)");
        assertThat(out).contains("unknown value 'roundrobin'; did you mean 'round_robin'?");
        assertThat(out).contains("weight: 0 is out of range");
        assertThat(out).contains("server 10.0.0.1:80 is listed twice in upstream 'app'");
        assertThat(out).contains("'a.*.com': a wildcard may only be a whole first or last label");
        assertThat(out).contains("'api' does not start with /");
        assertThat(out).contains("unknown upstream 'ap'; did you mean 'app'?");
        assertThat(out).contains("bad regex: Unclosed group");
        assertThat(out).contains("a location may have only one of exact:, prefix:, regex:");
        assertThat(out).contains("unknown key 'timeout'; did you mean 'timeouts'?");
    }

    @Test
    void duplicateLocationsAndTwoDefaultServersAreRejected() {
        String yaml = """
                proxy:
                  listeners: [{address: 127.0.0.1:8080}]
                  upstreams: {app: {servers: [{address: 10.0.0.1:80}]}}
                  servers:
                    - default: true
                      locations: [{prefix: /, upstream: app}, {prefix: /, upstream: app}]
                    - default: true
                      locations: [{prefix: /, upstream: app}]
                """;
        Problems problems = new Problems();
        parse(yaml, problems);
        assertThat(problems.format())
                .contains("duplicate location '/'")
                .contains("a second default server for listener '127.0.0.1:8080'");
    }

    @Test
    void onlyBackupServersOrAnEmptyConfigAreExplained() {
        Problems problems = new Problems();
        parse("""
                proxy:
                  listeners: [{address: 127.0.0.1:8080}]
                  upstreams: {app: {servers: [{address: 10.0.0.1:80, backup: true}]}}
                """, problems);
        assertThat(problems.format())
                .contains("upstream 'app' has only backup servers")
                .contains("no virtual servers");
    }

    @Test
    void serversMayBePlainHostPortStringsAndAnUpstreamMayHaveAnActiveHealthCheck() {
        Problems problems = new Problems();
        ProxyConfig c = parse("""
                proxy:
                  listeners: [{address: 127.0.0.1:0}]
                  upstreams:
                    app:
                      health: {type: http, path: /healthz, interval: 2s, rise: 1}
                      servers:
                        - 127.0.0.1:9001
                        - app-2.internal
                        - {address: 127.0.0.1:9003, weight: 5}
                  servers: [{default: true, locations: [{prefix: /, upstream: app}]}]
                """, problems);
        assertThat(problems.format()).as("plain strings are shorthand for {address: ...}").isEmpty();
        UpstreamConfig app = c.upstreams().get("app");
        assertThat(app.servers()).extracting(s -> s.address().toString())
                .containsExactly("127.0.0.1:9001", "app-2.internal:80", "127.0.0.1:9003");
        assertThat(app.servers().get(0).weight()).as("a plain string gets the defaults").isEqualTo(1);
        assertThat(app.servers().get(2).weight()).isEqualTo(5);
        assertThat(app.activeHealth()).as("health: parsed with the shared HealthCheckConfig").isPresent();
        assertThat(app.activeHealth().get().httpPath()).isEqualTo("/healthz");
        assertThat(app.activeHealth().get().rise()).isEqualTo(1);
    }

    @Test
    void aBadPlainServerAndABadHealthKeyArePointedAtByLine() {
        Problems problems = new Problems();
        parse("""
                proxy:
                  listeners: [{address: 127.0.0.1:0}]
                  upstreams:
                    app:
                      health: {type: tcp, path: /x}
                      servers:
                        - 127.0.0.1:99999
                        - 127.0.0.1:9001
                        - 127.0.0.1:9001
                  servers: [{default: true, locations: [{prefix: /, upstream: app}]}]
                """, problems);
        String text = problems.format();
        assertThat(text).as("a port out of range in a plain server string").contains("p.yaml:7:");
        assertThat(text).as("a duplicate plain server").contains("p.yaml:9:").contains("listed twice");
        assertThat(text).as("path on a tcp check").contains("p.yaml:5:").contains("only applies to http");
    }
}
