package io.tiergate.proxy.upstream;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.tiergate.proxy.ProxyNode;
import io.tiergate.proxy.support.Origin;
import io.tiergate.proxy.support.Proxies;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpClientAgent;
import io.vertx.core.http.HttpServer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

import static org.assertj.core.api.Assertions.assertThat;

/** A server written as a DNS name is every address the name resolves to, re-resolved every {@code resolve}. */
@Timeout(30)
class DnsResolveTest {
    final Vertx vertx = io.tiergate.shared.runtime.Runtimes.vertx();
    final Map<String, List<String>> dns = new ConcurrentHashMap<>();
    ProxyNode proxy;

    @AfterEach
    void stop() {
        if (proxy != null) {
            Origin.await(proxy.shutdown(Duration.ZERO));
        }
        Origin.await(vertx.close());
    }

    private HttpServer origin(String ip, int port) {
        return Origin.await(vertx.createHttpServer().requestHandler(r -> r.response().end(ip)).listen(port, ip));
    }

    private Set<String> answers(HttpClientAgent client, int port, int n) {
        Set<String> seen = new HashSet<>();
        for (int i = 0; i < n; i++) {
            seen.add(Proxies.get(client, port, "/").body());
        }
        return seen;
    }

    @Test
    void everyAddressOfANameIsAMemberAndChangesInDnsAreFollowed() throws Exception {
        HttpServer a = origin("127.0.0.1", 0);
        int p = a.actualPort();
        origin("127.0.0.2", p); // same port, second loopback address
        dns.put("app.test", List.of("127.0.0.1"));
        proxy = Origin.await(ProxyNode.start(vertx, Proxies.config("""
                access_log: {format: off}
                listeners: [{address: 127.0.0.1:0}]
                upstreams: {app: {resolve: 200ms, servers: ["app.test:%d"]}}
                servers: [{default: true, locations: [{prefix: /, upstream: app}]}]
                """.formatted(p)), new SimpleMeterRegistry(), name -> {
            List<String> ips = dns.get(name);
            if (ips == null) {
                throw new IllegalStateException("NXDOMAIN");
            }
            return ips;
        }));
        int port = proxy.listenPorts().get(0);
        HttpClientAgent client = vertx.createHttpClient();
        assertThat(answers(client, port, 4)).as("one address: one member").containsExactly("127.0.0.1");

        dns.put("app.test", List.of("127.0.0.1", "127.0.0.2"));
        long end = System.nanoTime() + Duration.ofSeconds(5).toNanos();
        while (proxy.upstream("app").peers().size() < 2 && System.nanoTime() < end) {
            Thread.sleep(50);
        }
        assertThat(proxy.upstream("app").peers()).as("the new address joined after a re-resolve").hasSize(2);
        assertThat(answers(client, port, 4)).as("both addresses serve").containsExactlyInAnyOrder("127.0.0.1", "127.0.0.2");

        dns.put("app.test", List.of("127.0.0.2"));
        while (proxy.upstream("app").peers().size() != 1 && System.nanoTime() < end + Duration.ofSeconds(5).toNanos()) {
            Thread.sleep(50);
        }
        assertThat(answers(client, port, 4)).as("the address that left DNS gets nothing").containsExactly("127.0.0.2");
    }
}
