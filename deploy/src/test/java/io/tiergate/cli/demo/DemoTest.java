package io.tiergate.cli.demo;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.HashSet;
import java.util.Set;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/** The README's first command: both tiers on loopback, no root, and a user can see both proxies and both origins. */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class DemoTest {
    static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }

    @Test
    void requestsThroughTheVipReachBothProxiesAndBothOriginsAndStopReleasesThePort() throws Exception {
        int port = freePort();
        int admin = freePort();
        Set<String> proxies = new HashSet<>();
        Set<String> origins = new HashSet<>();
        try (Demo demo = new Demo()) {
            demo.start("127.0.0.1", port, admin);
            StringWriter banner = new StringWriter();
            demo.printBanner(new PrintWriter(banner), "127.0.0.1", admin);
            assertThat(banner.toString()).as("the banner tells the user what to try")
                    .contains("curl -i http://127.0.0.1:" + port + "/").contains("proxy-1").contains("origin-2");

            HttpClient client = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
            for (int i = 0; i < 8; i++) {
                // A new client (so a new connection) per request, so the L4 round robin shows both proxy nodes.
                HttpClient fresh = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
                HttpResponse<String> r = fresh.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/hello"))
                        .timeout(Duration.ofSeconds(5)).build(), HttpResponse.BodyHandlers.ofString());
                assertThat(r.statusCode()).as("request %d through the demo VIP", i).isEqualTo(200);
                assertThat(r.body()).contains("Hello from origin-").contains("you asked for: GET /hello");
                proxies.add(r.headers().firstValue("X-Tiergate-Node").orElse("none"));
                origins.add(r.headers().firstValue("X-Tiergate-Origin").orElse("none"));
            }
            HttpResponse<String> status = client.send(HttpRequest.newBuilder(
                    URI.create("http://127.0.0.1:" + admin + "/api/status")).build(), HttpResponse.BodyHandlers.ofString());
            assertThat(status.statusCode()).as("the director's admin API answers in the demo").isEqualTo(200);
            for (int p : demo.proxyAdminPorts()) {
                assertThat(banner.toString()).contains("http://127.0.0.1:" + p + "/");
                HttpResponse<String> up = client.send(HttpRequest.newBuilder(
                        URI.create("http://127.0.0.1:" + p + "/api/status")).build(), HttpResponse.BodyHandlers.ofString());
                assertThat(up.body()).as("each proxy node's status API").contains("\"upstreams\"").contains("\"app\"");
            }
        }
        assertThat(proxies).as("the director spread connections over both proxy nodes").containsExactlyInAnyOrder("proxy-1", "proxy-2");
        assertThat(origins).as("the proxies spread requests over both origins").containsExactlyInAnyOrder("origin-1", "origin-2");
        try (ServerSocket s = new ServerSocket(port)) {
            assertThat(s.getLocalPort()).as("the VIP port is free again after the demo stops").isEqualTo(port);
        }
    }
}
