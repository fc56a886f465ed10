package io.tiergate.status;

import io.tiergate.proxy.ProxyNode;
import io.tiergate.proxy.admin.ProxyAdmin;
import io.tiergate.proxy.config.ProxyConfig;
import io.tiergate.shared.admin.AdminServer;
import io.tiergate.shared.metrics.Metrics;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServer;

import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/** What the status and monitoring tests run: HTTP backends, a proxy node with its admin endpoint, plain GETs. */
final class Tiers {
    static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(3)).build();

    private Tiers() {
    }

    /** An origin / real server answering "{name} {path}", cacheable for a minute. */
    static HttpServer backend(Vertx vertx, String name) throws Exception {
        return vertx.createHttpServer()
                .requestHandler(req -> req.response().putHeader("Cache-Control", "max-age=60").end(name + " " + req.path() + "\n"))
                .listen(0, "127.0.0.1").await(5, TimeUnit.SECONDS);
    }

    /** A port nothing listens on right now (for a director VIP, or a dead upstream server). */
    static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }

    static HttpResponse<String> get(String url) throws Exception {
        return HTTP.send(HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(5)).build(),
                HttpResponse.BodyHandlers.ofString());
    }

    /** A proxy node wired like {@code tiergate proxy} does it: node, status page and API, admin endpoint. */
    record Proxy(ProxyNode node, ProxyAdmin pages, AdminServer admin, Metrics metrics) implements AutoCloseable {
        static Proxy start(Vertx vertx, ProxyConfig config) throws Exception {
            Metrics metrics = new Metrics(Map.of("tier", "proxy"));
            ProxyNode node = ProxyNode.start(vertx, config, metrics.registry()).await(30, TimeUnit.SECONDS);
            ProxyAdmin pages = ProxyAdmin.start(vertx, node, metrics.registry());
            AdminServer admin = AdminServer.start(vertx, "127.0.0.1", 0, metrics, () -> true, pages.routes(),
                    config.adminAccess()).await(10, TimeUnit.SECONDS);
            return new Proxy(node, pages, admin, metrics);
        }

        String site() {
            return "http://127.0.0.1:" + node.listenPorts().get(0);
        }

        String adminBase() {
            return "http://127.0.0.1:" + admin.port();
        }

        @Override
        public void close() throws Exception {
            try {
                pages.close();
                admin.close().await(5, TimeUnit.SECONDS);
                node.shutdown(Duration.ZERO).await(10, TimeUnit.SECONDS);
            } finally {
                metrics.close();
            }
        }
    }
}
