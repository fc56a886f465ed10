package io.tiergate.proxy.forward;

import io.tiergate.proxy.ProxyNode;
import io.tiergate.proxy.support.Origin;
import io.tiergate.proxy.support.Proxies;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.WebSocket;
import io.vertx.core.http.WebSocketClient;
import io.vertx.core.http.WebSocketConnectOptions;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.time.Duration;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/** WebSocket upgrades through the proxy to a real Vert.x WebSocket origin, and their survival across a reload. */
@Timeout(30)
class WebSocketTest {
    Vertx vertx;
    HttpServer origin;
    WebSocketClient wsClient;
    ProxyNode proxy;
    final BlockingQueue<String> originSawHeaders = new LinkedBlockingQueue<>();

    @BeforeEach
    void start() {
        vertx = Vertx.vertx();
        origin = Origin.await(vertx.createHttpServer().webSocketHandler(ws -> {
            originSawHeaders.add("path=" + ws.path() + " xff=" + ws.headers().get("X-Forwarded-For"));
            ws.textMessageHandler(m -> ws.writeTextMessage("echo:" + m));
        }).listen(0, "127.0.0.1"));
        wsClient = vertx.createWebSocketClient();
    }

    @AfterEach
    void stop() {
        Origin.await(proxy.shutdown(Duration.ZERO));
        Origin.await(vertx.close());
    }

    private String config(String upstreamName) {
        return """
                access_log: {format: off}
                timeouts: {client_header: 500ms, keepalive: 500ms}
                listeners: [{address: 127.0.0.1:0}]
                upstreams: {%s: {servers: ["127.0.0.1:%d"]}}
                servers: [{default: true, locations: [{prefix: /, upstream: %s}]}]
                """.formatted(upstreamName, origin.actualPort(), upstreamName);
    }

    @Test
    void aWebSocketPassesThroughAndSurvivesAReloadThatReplacesItsUpstreamGroup() throws Exception {
        proxy = Proxies.start(vertx, config("ws"));
        int port = proxy.listenPorts().get(0);
        BlockingQueue<String> got = new LinkedBlockingQueue<>();
        WebSocket ws = Origin.await(wsClient.connect(new WebSocketConnectOptions().setHost("127.0.0.1").setPort(port)
                .setURI("/chat?room=1")));
        ws.textMessageHandler(got::add);
        ws.writeTextMessage("hello");
        assertThat(got.poll(5, TimeUnit.SECONDS)).as("a message goes to the origin and its answer comes back")
                .isEqualTo("echo:hello");
        assertThat(originSawHeaders.poll(5, TimeUnit.SECONDS)).as("the origin sees the path and forwarding headers")
                .isEqualTo("path=/chat xff=127.0.0.1");

        Origin.await(proxy.reload(Proxies.config(config("ws2")))); // the old group is closed once drained
        Thread.sleep(300);
        ws.writeTextMessage("after reload");
        assertThat(got.poll(5, TimeUnit.SECONDS)).as("the open WebSocket keeps working after a reload")
                .isEqualTo("echo:after reload");
        assertThat(ws.isClosed()).isFalse();
        Thread.sleep(1000); // ConnectionGuard removed itself at the 101: an open WebSocket is not a keep-alive wait
        ws.writeTextMessage("still");
        assertThat(got.poll(5, TimeUnit.SECONDS)).isEqualTo("echo:still");
        Origin.await(ws.close());
    }

    @Test
    void aWebSocketToADeadUpstreamGets502() {
        proxy = Proxies.start(vertx, """
                access_log: {format: off}
                listeners: [{address: 127.0.0.1:0}]
                upstreams: {ws: {servers: ["127.0.0.1:%d"]}}
                servers: [{default: true, locations: [{prefix: /, upstream: ws}]}]
                """.formatted(Proxies.deadPort()));
        int port = proxy.listenPorts().get(0);
        Throwable t = null;
        try {
            Origin.await(wsClient.connect(new WebSocketConnectOptions().setHost("127.0.0.1").setPort(port).setURI("/")));
        } catch (RuntimeException e) {
            t = e;
        }
        assertThat(t).as("the handshake fails").isNotNull();
        assertThat(String.valueOf(t.getMessage()) + t.getCause()).as("with the proxy's 502").contains("502");
    }
}
