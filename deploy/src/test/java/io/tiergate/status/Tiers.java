package io.tiergate.status;

import io.tiergate.director.Director;
import io.tiergate.director.ha.VrrpConfig;
import io.tiergate.director.ha.VrrpRoleListener;
import io.tiergate.director.ha.VrrpState;
import io.tiergate.director.ha.VrrpStatus;
import io.tiergate.proxy.ProxyNode;
import io.tiergate.proxy.admin.ProxyAdmin;
import io.tiergate.proxy.config.ProxyConfig;
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
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/** What the status and monitoring tests run: HTTP backends, a proxy node with its admin endpoint, plain GETs. */
final class Tiers {
    static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();

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
        return HTTP.send(HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(20)).build(),
                HttpResponse.BodyHandlers.ofString());
    }

    /**
     * One HTTP/1.0 request on a connection of its own (an L4 director counts connections: a keep-alive client would
     * show one). Returns the status code.
     */
    static int getOnNewConnection(int port, String path) throws IOException {
        try (java.net.Socket s = new java.net.Socket()) {
            s.connect(new java.net.InetSocketAddress("127.0.0.1", port), 10_000);
            s.setSoTimeout(20_000);
            s.getOutputStream().write(("GET " + path + " HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
                    .getBytes(java.nio.charset.StandardCharsets.US_ASCII));
            String reply = new String(s.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.ISO_8859_1);
            String[] status = reply.split(" ", 3);
            if (status.length < 2 || !status[0].startsWith("HTTP/")) {
                throw new IOException("no HTTP response on 127.0.0.1:" + port);
            }
            return Integer.parseInt(status[1]);
        }
    }

    /** A proxy node wired like {@code tiergate proxy} does it: node, status page and API, admin endpoint. */
    record Proxy(ProxyNode node, ProxyAdmin.Endpoint admin, Metrics metrics) implements AutoCloseable {
        static Proxy start(Vertx vertx, ProxyConfig config) throws Exception {
            Metrics metrics = new Metrics(Map.of("tier", "proxy"));
            ProxyNode node = ProxyNode.start(vertx, config, metrics.registry()).await(30, TimeUnit.SECONDS);
            ProxyAdmin.Endpoint admin = ProxyAdmin.serve(vertx, node, metrics, config.admin(), config.adminAccess(),
                    () -> true).await(10, TimeUnit.SECONDS);
            return new Proxy(node, admin, metrics);
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
                admin.close().await(5, TimeUnit.SECONDS);
                node.shutdown(Duration.ZERO).await(10, TimeUnit.SECONDS);
            } finally {
                metrics.close();
            }
        }
    }

    /** VRRP below the layer these tests look at (no interface or root needed): master from the start. */
    static final class StandInVrrp implements Director.HaInstance {
        private final VrrpConfig config;
        private final List<VrrpRoleListener> listeners = new java.util.concurrent.CopyOnWriteArrayList<>();
        private volatile VrrpState state = VrrpState.INIT;
        private volatile long changes;

        StandInVrrp(VrrpConfig config) {
            this.config = config;
        }

        @Override
        public VrrpConfig config() {
            return config;
        }

        @Override
        public void addListener(VrrpRoleListener listener) {
            listeners.add(listener);
        }

        @Override
        public void start() {
            VrrpState from = state;
            state = VrrpState.MASTER;
            changes++;
            listeners.forEach(l -> l.roleChanged(from, VrrpState.MASTER));
        }

        @Override
        public void setTrackedHealth(boolean ok) {
        }

        @Override
        public void reconfigure(VrrpConfig next) {
        }

        @Override
        public VrrpStatus status() {
            return new VrrpStatus(config.vrid(), state, config.priority(), config.advertInterval(), Optional.empty(), changes);
        }

        @Override
        public boolean linkUp() {
            return true;
        }

        @Override
        public void stop() {
            state = VrrpState.INIT;
        }
    }
}
