package io.tiergate.proxy.controls;

import io.tiergate.proxy.ProxyNode;
import io.tiergate.proxy.support.Origin;
import io.tiergate.proxy.support.Proxies;
import io.vertx.core.Vertx;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * allow/deny and real_ip end to end, from 127.0.0.1 and from ::1 (two listeners, one per family), with a real origin
 * that shows what it received.
 */
@Timeout(60)
class AccessTest {
    Vertx vertx;
    Origin origin;
    ProxyNode proxy;
    int v4;
    int v6;
    Path accessLog;

    @BeforeEach
    void setUp() throws Exception {
        vertx = io.tiergate.shared.runtime.Runtimes.vertx();
        origin = Origin.start(vertx, "app", (o, req, body) -> req.response().end("ok\n"));
        accessLog = Files.createTempFile("access-test", ".log");
    }

    @AfterEach
    void tearDown() throws Exception {
        if (proxy != null) {
            Origin.await(proxy.shutdown(Duration.ofSeconds(1)));
        }
        origin.close();
        Origin.await(vertx.close());
        Files.deleteIfExists(accessLog);
    }

    void start(String forwarding, String server) {
        proxy = Proxies.start(vertx, """
                access_log: {format: json, path: %s}
                listeners: [{name: v4, address: 127.0.0.1:0}, {name: v6, address: "[::1]:0"}]
                forwarding: %s
                limit_req_zones: {per_client: {key: client_ip, rate: 1r/m}}
                upstreams: {app: {servers: [%s]}}
                servers:
                %s
                """.formatted(accessLog, forwarding, origin.address(), server.indent(2)));
        v4 = proxy.listenPorts().get(0);
        v6 = proxy.listenPorts().get(1);
    }

    int status(String from, String path, String... headers) {
        return Http.get(from, from.equals("::1") ? v6 : v4, path, headers).status();
    }

    @Test
    void allowDenyFirstMatchWinsForBothFamilies() {
        start("{}", """
                - default: true
                  access: [{deny: "::1"}]          # the server's rule, inherited by locations without their own
                  locations:
                    - {prefix: /inherit/, upstream: app}
                    - {prefix: /v6-only/, upstream: app, access: [{allow: "::1/128"}, {deny: all}]}
                    - {prefix: /no-v4/, upstream: app, access: [{deny: 127.0.0.0/8}]}
                    - {prefix: /first-allow/, upstream: app, access: [{allow: 127.0.0.1}, {deny: 127.0.0.0/8}]}
                    - {prefix: /first-deny/, upstream: app, access: [{deny: 127.0.0.0/8}, {allow: 127.0.0.1}]}
                    - {prefix: /v6-net/, upstream: app, access: [{allow: "::/64"}, {deny: "::/0"}, {allow: all}]}
                    - {prefix: /open/, upstream: app, access: off}
                """);
        assertThat(status("127.0.0.1", "/inherit/")).isEqualTo(200);
        assertThat(status("::1", "/inherit/")).isEqualTo(403);
        assertThat(status("127.0.0.1", "/v6-only/")).isEqualTo(403);
        assertThat(status("::1", "/v6-only/")).isEqualTo(200);
        assertThat(status("127.0.0.1", "/no-v4/")).isEqualTo(403);
        assertThat(status("::1", "/no-v4/")).isEqualTo(200);
        assertThat(status("127.0.0.1", "/first-allow/")).isEqualTo(200);
        assertThat(status("127.0.0.1", "/first-deny/")).isEqualTo(403);
        assertThat(status("::1", "/v6-net/")).isEqualTo(200);   // ::1 is in ::/64
        assertThat(status("127.0.0.1", "/v6-net/")).isEqualTo(200); // IPv4 matches no IPv6 block: allow all
        assertThat(status("::1", "/open/")).isEqualTo(200);
        Http.Reply denied = Http.get("::1", v6, "/inherit/");
        assertThat(denied.body()).contains("deny ::1");
        assertThat(origin.received).noneMatch(r -> r.uri().startsWith("/v6-only/") && r.headers().get("X-Real-IP")
                .contains("127.0.0.1"));
    }

    @Test
    void trustedChainYieldsTheClientEverywhere() throws Exception {
        start("{trusted_proxies: [127.0.0.1, 10.0.0.0/8], real_ip_header: X-Forwarded-For}", """
                - default: true
                  locations:
                    - {prefix: /deny/, upstream: app, access: [{deny: 203.0.113.0/24}]}
                    - {prefix: /, upstream: app, limit_req: {zone: per_client}}
                """);
        // Right to left: 127.0.0.1 (the peer, trusted), 10.1.1.1 (trusted), 203.0.113.9 (the client).
        assertThat(status("127.0.0.1", "/a", "X-Forwarded-For", "198.51.100.1, 203.0.113.9, 10.1.1.1")).isEqualTo(200);
        Origin.Received r = origin.last();
        assertThat(r.headers().get("X-Real-IP")).isEqualTo("203.0.113.9");
        assertThat(r.headers().get("X-Forwarded-For")).isEqualTo("198.51.100.1, 203.0.113.9, 10.1.1.1, 127.0.0.1");
        // The limit is keyed by that client: the same client again is over 1r/m, another one is not.
        assertThat(status("127.0.0.1", "/a", "X-Forwarded-For", "203.0.113.9")).isEqualTo(429);
        assertThat(status("127.0.0.1", "/a", "X-Forwarded-For", "203.0.113.10")).isEqualTo(200);
        // allow/deny see it too.
        assertThat(status("127.0.0.1", "/deny/", "X-Forwarded-For", "203.0.113.77")).isEqualTo(403);
        assertThat(status("127.0.0.1", "/deny/", "X-Forwarded-For", "192.0.2.1")).isEqualTo(200);
        // Garbage in the chain: the walk stops at the last address it could vouch for.
        assertThat(status("127.0.0.1", "/deny/", "X-Forwarded-For", "203.0.113.5, nonsense")).isEqualTo(200);
        assertThat(origin.last().headers().get("X-Real-IP")).isEqualTo("127.0.0.1");
        // And the access log.
        List<String> lines = awaitLog(7);
        assertThat(lines.get(0)).contains("\"client\":\"203.0.113.9\"");
        assertThat(lines).anySatisfy(l -> assertThat(l).contains("\"client\":\"203.0.113.77\"").contains("\"status\":403")
                .contains("\"limit\":\"access:rejected\""));
    }

    @Test
    void spoofedForwardedForFromAnUntrustedPeerIsIgnored() {
        start("{trusted_proxies: [127.0.0.1], real_ip_header: X-Forwarded-For}", """
                - default: true
                  locations:
                    - {prefix: /, upstream: app, access: [{allow: 203.0.113.9}, {allow: 127.0.0.1}, {deny: all}]}
                """);
        // ::1 is not trusted: its X-Forwarded-For claim is neither believed nor passed on.
        assertThat(status("::1", "/", "X-Forwarded-For", "203.0.113.9")).isEqualTo(403);
        assertThat(status("::1", "/", "X-Forwarded-For", "127.0.0.1")).isEqualTo(403);
        // From the trusted peer the same claim is believed.
        assertThat(status("127.0.0.1", "/", "X-Forwarded-For", "203.0.113.9")).isEqualTo(200);
        assertThat(origin.last().headers().get("X-Real-IP")).isEqualTo("203.0.113.9");
    }

    @Test
    void hashingByClientIpUsesTheRealClient() {
        Origin second = Origin.start(vertx, "second", (o, req, body) -> req.response().end("second\n"));
        try {
            proxy = Proxies.start(vertx, """
                    access_log: {format: off}
                    listeners: [{address: 127.0.0.1:0}]
                    forwarding: {trusted_proxies: [127.0.0.1], real_ip_header: X-Forwarded-For}
                    upstreams: {app: {balance: hash, hash_key: client_ip, servers: [%s, %s]}}
                    servers:
                      - default: true
                        locations: [{prefix: /, upstream: app}]
                    """.formatted(origin.address(), second.address()));
            v4 = proxy.listenPorts().get(0);
            // Every connection comes from 127.0.0.1: only the real client can spread them over both servers.
            for (int c = 1; c <= 20; c++) {
                int before = second.hits.get();
                String body = Http.get("127.0.0.1", v4, "/", "X-Forwarded-For", "198.51.100." + c).body();
                for (int again = 0; again < 2; again++) {
                    assertThat(Http.get("127.0.0.1", v4, "/", "X-Forwarded-For", "198.51.100." + c).body())
                            .as("client %d sticks to one server", c).isEqualTo(body);
                }
                assertThat(second.hits.get() - before).isIn(0, 3);
            }
            assertThat(origin.hits.get()).isPositive();
            assertThat(second.hits.get()).isPositive();
        } finally {
            second.close();
        }
    }

    @Test
    void withoutRecursionTheRightmostEntryIsTheClient() {
        start("{trusted_proxies: [127.0.0.1, 10.0.0.0/8], real_ip_header: X-Forwarded-For, real_ip_recursive: false}",
                """
                - default: true
                  locations: [{prefix: /, upstream: app}]
                """);
        assertThat(status("127.0.0.1", "/", "X-Forwarded-For", "203.0.113.9, 10.1.1.1")).isEqualTo(200);
        assertThat(origin.last().headers().get("X-Real-IP")).isEqualTo("10.1.1.1");
    }

    List<String> awaitLog(int lines) throws Exception {
        return Http.awaitLines(accessLog, lines);
    }
}
