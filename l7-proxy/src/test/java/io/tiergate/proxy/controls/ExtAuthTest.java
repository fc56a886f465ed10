package io.tiergate.proxy.controls;

import io.tiergate.proxy.ProxyNode;
import io.tiergate.proxy.support.Origin;
import io.tiergate.proxy.support.Proxies;
import io.vertx.core.Vertx;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.time.Duration;

import static org.assertj.core.api.Assertions.assertThat;

/** auth_request against a real auth service (an HTTP server deciding by the bearer token) and a real app origin. */
@Timeout(60)
class ExtAuthTest {
    Vertx vertx;
    Origin app;
    Origin auth;
    ProxyNode proxy;
    int port;

    @BeforeEach
    void setUp() {
        vertx = io.tiergate.shared.runtime.Runtimes.vertx();
        app = Origin.start(vertx, "app", (o, req, body) -> req.response().end("app\n"));
        auth = Origin.start(vertx, "auth", (o, req, body) -> {
            String token = String.valueOf(req.getHeader("Authorization"));
            var resp = req.response();
            switch (token) {
                case "Bearer good" -> resp.putHeader("X-User", "alice").putHeader("X-Scope", "read")
                        .putHeader("X-Internal", "not copied").end();
                case "Bearer forbidden" -> resp.setStatusCode(403).end();
                case "Bearer boom" -> resp.setStatusCode(503).end();
                case "Bearer slow" -> vertx.setTimer(5000, id -> resp.end());
                default -> resp.setStatusCode(401).putHeader("WWW-Authenticate", "Bearer realm=\"api\"").end();
            }
        });
        proxy = Proxies.start(vertx, """
                access_log: {format: off}
                listeners: [{address: 127.0.0.1:0}]
                upstreams:
                  app: {servers: [%s]}
                  auth: {servers: [%s]}
                servers:
                  - default: true
                    auth_request: {upstream: auth, path: /verify, pass_headers: [Authorization],
                                   copy_headers: [X-User, X-Scope], timeout: 1s, cache: 30s}
                    locations:
                      - {prefix: /, upstream: app}
                      - prefix: /nocache/
                        upstream: app
                        auth_request: {upstream: auth, path: /verify, copy_headers: [X-User], timeout: 1s}
                      - prefix: /lenient/
                        upstream: app
                        auth_request: {upstream: auth, path: /verify, timeout: 1s, on_failure: allow}
                      - {prefix: /public/, upstream: app, auth_request: off}
                """.formatted(app.address(), auth.address()));
        port = proxy.listenPorts().get(0);
    }

    @AfterEach
    void tearDown() {
        Origin.await(proxy.shutdown(Duration.ofSeconds(1)));
        app.close();
        auth.close();
        Origin.await(vertx.close());
    }

    Http.Reply get(String path, String token, String... more) {
        String[] h = new String[more.length + 2];
        h[0] = "Authorization";
        h[1] = "Bearer " + token;
        System.arraycopy(more, 0, h, 2, more.length);
        return Http.get("127.0.0.1", port, path, h);
    }

    @Test
    void allowCopiesTheChosenHeadersAndDropsForgedOnes() {
        assertThat(get("/a?x=1", "good", "X-User", "eve", "X-Scope", "admin").status()).isEqualTo(200);
        Origin.Received sub = auth.last();
        assertThat(sub.uri()).isEqualTo("/verify");
        assertThat(sub.headers().get("X-Original-URI")).isEqualTo("/a?x=1");
        assertThat(sub.headers().get("X-Original-Method")).isEqualTo("GET");
        assertThat(sub.headers().get("X-Real-IP")).isEqualTo("127.0.0.1");
        Origin.Received fwd = app.last();
        assertThat(fwd.headers().getAll("X-User")).containsExactly("alice");
        assertThat(fwd.headers().getAll("X-Scope")).containsExactly("read");
        assertThat(fwd.headers().get("X-Internal")).isNull();
    }

    @Test
    void denialsAreReturnedToTheClient() {
        Http.Reply none = Http.get("127.0.0.1", port, "/a");
        assertThat(none.status()).isEqualTo(401);
        assertThat(none.header("WWW-Authenticate")).isEqualTo("Bearer realm=\"api\"");
        assertThat(get("/a", "forbidden").status()).isEqualTo(403);
        assertThat(app.hits.get()).isZero();
        assertThat(Http.get("127.0.0.1", port, "/public/x").status()).isEqualTo(200);
    }

    @Test
    void failuresAndTimeoutsGive500OrPassWhenAllowed() {
        assertThat(get("/nocache/a", "boom").status()).isEqualTo(500);
        long t0 = System.nanoTime();
        assertThat(get("/nocache/a", "slow").status()).isEqualTo(500);
        assertThat(Duration.ofNanos(System.nanoTime() - t0)).isLessThan(Duration.ofSeconds(4)); // 1 s timeout, not 5
        assertThat(app.hits.get()).isZero();
        assertThat(get("/lenient/a", "boom").status()).isEqualTo(200);
        assertThat(get("/lenient/a", "slow").status()).isEqualTo(200);
        assertThat(get("/lenient/a", "forbidden").status()).as("a denial is not a failure").isEqualTo(403);
        assertThat(proxy.meterRegistry().find("tiergate_proxy_limited_requests").tag("limit", "auth_request")
                .tag("action", "failure_allowed").counter().count()).isEqualTo(2);
    }

    @Test
    void answersAreCachedPerCredentials() {
        for (int i = 0; i < 3; i++) {
            assertThat(get("/a", "good").status()).isEqualTo(200);
            assertThat(get("/a", "forbidden").status()).isEqualTo(403);
        }
        assertThat(auth.hits.get()).isEqualTo(2);
        assertThat(app.received).allSatisfy(r -> assertThat(r.headers().get("X-User")).isEqualTo("alice"));
        for (int i = 0; i < 3; i++) {
            assertThat(get("/nocache/a", "good").status()).isEqualTo(200);
        }
        assertThat(auth.hits.get()).isEqualTo(5);
        assertThat(get("/nocache/a", "boom").status()).isEqualTo(500);
        assertThat(get("/a", "boom").status()).isEqualTo(500);
        assertThat(get("/a", "boom").status()).as("failures are not cached").isEqualTo(500);
        assertThat(auth.hits.get()).isEqualTo(8);
    }
}
