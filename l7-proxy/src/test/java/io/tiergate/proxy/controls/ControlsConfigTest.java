package io.tiergate.proxy.controls;

import io.tiergate.proxy.config.ProxyConfig;
import io.tiergate.shared.config.ConfigMap;
import io.tiergate.shared.config.Problems;
import io.tiergate.shared.config.YamlLoader;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

/** Every control key is validated where it is written: FILE:LINE:COL, what is wrong, what is expected. */
class ControlsConfigTest {
    @TempDir
    Path dir;

    static String problems(String body) {
        Problems problems = new Problems();
        ProxyConfig.parse(ConfigMap.of(YamlLoader.parse("t.yaml", """
                listeners: [{address: 127.0.0.1:0}]
                upstreams: {app: {servers: [127.0.0.1:1]}}
                """ + body), problems));
        return problems.format();
    }

    static String server(String controls) {
        return """
                servers:
                  - default: true
                    locations:
                      - {prefix: /, upstream: app, %s}
                """.formatted(controls);
    }

    @Test
    void validControlsParse() throws Exception {
        Path f = dir.resolve("users");
        Files.writeString(f, "a:$6$abcdefgh$ltjgWl6579NluT/Vi1nwEvcil.G5Nbc4NiXZaNGStk8PSwGfQv72N2CKPPrVACtLtip/cZ/1GM/O6IND4WQhG.\n");
        assertThat(problems("""
                forwarding: {trusted_proxies: [10.0.0.0/8, "2001:db8::/32"], real_ip_header: X-Forwarded-For}
                limit_req_zones: {a: {key: [client_ip, 'header:X-Api-Key', 'cookie:s', route, host], rate: 300r/m}}
                limit_conn_zones: {c: {key: client_ip, size: 5000}}
                """ + server("limit_req: [{zone: a, burst: 5, delay: 2}], limit_conn: {zone: c, max: 3},"
                + " access: [{allow: \"::1\"}, {deny: all}], auth_basic: {user_file: " + f + "}, max_body_size: 1k,"
                + " timeouts: {connect: 2s, read: 30s}")))
                .isEmpty();
        assertThat(problems(server("timeouts: {read: 5s, send: 5s}"))).contains("locations[0].timeouts.send: a separate"
                + " send timeout is not supported");
        assertThat(problems(server("auth_request: {upstream: authz}"))).contains("unknown upstream 'authz'");
        assertThat(problems(server("auth_request: {upstream: app, on_failure: maybe}"))).contains("is not a failure mode");
    }

    @Test
    void zonesAndLimits() {
        assertThat(problems("limit_req_zones: {a: {key: client_ip, rate: 5r/h}}\n" + server("limit_req: {zone: a}")))
                .contains("t.yaml:3:45: limit_req_zones.a.rate: '5r/h' is not a rate");
        assertThat(problems("limit_req_zones: {a: {key: 'header:', rate: 5r/s}}\n"))
                .contains("t.yaml:3:28: limit_req_zones.a.key: 'header:' is not a key");
        assertThat(problems("limit_req_zones: {api: {key: client_ip, rate: 5r/s}}\n" + server("limit_req: {zone: apu}")))
                .contains("unknown limit_req zone 'apu'; did you mean 'api'?");
        assertThat(problems("limit_req_zones: {a: {key: client_ip, rate: 5r/s}}\n"
                + server("limit_req: {zone: a, burst: 5, nodelay: true, delay: 2}")))
                .contains("delay and nodelay together");
        assertThat(problems("limit_req_zones: {a: {key: client_ip, rate: 5r/s}}\n"
                + server("limit_req: {zone: a, burst: 1, delay: 2}"))).contains("delay 2 is larger than burst 1");
        assertThat(problems("limit_conn_zones: {c: {key: client_ip}}\n" + server("limit_conn: {zone: c}")))
                .contains("limit_conn.max: missing required key 'max'");
        assertThat(problems("limit_req_zones: {a: {key: client_ip, rate: 5r/s}}\n"
                + server("limit_req: {zone: a, status: 200}"))).contains("status");
    }

    @Test
    void accessAndRealIp() {
        assertThat(problems(server("access: [{allow: 10.0.0.0/33}]")))
                .contains("t.yaml:6:53: servers[0].locations[0].access[0].allow: prefix length /33 is out of range 0-32");
        assertThat(problems(server("access: [{permit: 10.0.0.0/8}]")))
                .contains("an access rule is one of {allow: CIDR} or {deny: CIDR}");
        assertThat(problems("forwarding: {real_ip_header: X-Forwarded-For}\n"))
                .contains("real_ip_header without trusted_proxies would never be used");
    }

    @Test
    void weakOrUnreadableHtpasswdIsRefusedNamingTheLine() throws Exception {
        Path f = dir.resolve("users");
        Files.writeString(f, "# comment\n\nok:$6$abcdefgh$ltjgWl6579NluT/Vi1nwEvcil.G5Nbc4NiXZaNGStk8PSwGfQv72N2CKPPrVACtLtip/cZ/1GM/O6IND4WQhG.\n"
                + "old:$apr1$abcdefgh$h9FWgUz3n9YxylKLlR5SQ/\n");
        assertThat(problems(server("auth_basic: {user_file: " + f + "}")))
                .contains("servers[0].locations[0].auth_basic.user_file: " + f + ":4: user 'old' has an MD5 hash ($apr1$)");
        Files.writeString(f, "plain:secret\n");
        assertThat(problems(server("auth_basic: {user_file: " + f + "}"))).contains(f + ":1: user 'plain' has a plain-text password");
        Files.writeString(f, "sha:{SHA}5en6G6MezRroT3XKqkdPOmY/BfQ=\n");
        assertThat(problems(server("auth_basic: {user_file: " + f + "}"))).contains("unsalted SHA-1");
        assertThat(problems(server("auth_basic: {user_file: " + dir.resolve("missing") + "}"))).contains("cannot read");
    }
}
