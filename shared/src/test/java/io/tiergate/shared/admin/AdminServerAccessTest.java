package io.tiergate.shared.admin;

import io.tiergate.shared.metrics.Metrics;
import io.vertx.core.Vertx;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Who may do what on an AdminServer with a token configured: reads open (protect_reads off), every other method
 * needs the token (401 without, 403 wrong), probes and the status page's files are always open, a cross-origin
 * browser request cannot change anything even with the token, and the status page's files come with a strict CSP.
 */
@org.junit.jupiter.api.Timeout(120)
class AdminServerAccessTest {
    static final String TOKEN = "0123456789abcdef0123";
    static Vertx vertx;
    static Metrics metrics;
    static AdminServer admin;
    static final AtomicInteger actions = new AtomicInteger();
    static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();

    @BeforeAll
    static void start() throws Exception {
        vertx = Vertx.vertx();
        metrics = new Metrics(Map.of("tier", "test"));
        AdminAccess access = new AdminAccess(Optional.of(TOKEN), Optional.empty(), Optional.empty(), false, Optional.empty());
        Map<String, io.vertx.core.Handler<io.vertx.core.http.HttpServerRequest>> routes =
                new LinkedHashMap<>(StatusPage.routes("common.css"));
        routes.put("/api", req -> {
            if (req.method() == io.vertx.core.http.HttpMethod.POST) {
                actions.incrementAndGet();
            }
            req.response().end("{}");
        });
        admin = AdminServer.start(vertx, null, 0, metrics, () -> true, routes, access).await(5, TimeUnit.SECONDS);
    }

    @AfterAll
    static void stop() throws Exception {
        admin.close().await(5, TimeUnit.SECONDS);
        metrics.close();
        vertx.close().await(5, TimeUnit.SECONDS);
    }

    static HttpResponse<String> call(String method, String path, String... headers) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + admin.port() + path))
                .timeout(Duration.ofSeconds(20)).method(method, HttpRequest.BodyPublishers.noBody());
        if (headers.length > 0) {
            b.headers(headers);
        }
        return HTTP.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    @Test
    void mutatingNeedsTheRightTokenReadsDoNot() throws Exception {
        int before = actions.get();
        HttpResponse<String> none = call("POST", "/api/x/drain");
        assertThat(none.statusCode()).isEqualTo(401);
        assertThat(none.headers().firstValue("WWW-Authenticate")).hasValue("Bearer realm=\"tiergate-admin\"");
        assertThat(call("POST", "/api/x/drain", "Authorization", "Bearer nope").statusCode()).isEqualTo(403);
        assertThat(call("DELETE", "/api/x", "Authorization", "Bearer nope").statusCode()).isEqualTo(403);
        assertThat(actions.get()).as("no refused request reached the handler").isEqualTo(before);
        assertThat(call("POST", "/api/x/drain", "Authorization", "Bearer " + TOKEN).statusCode()).isEqualTo(200);
        assertThat(actions.get()).isEqualTo(before + 1);

        assertThat(call("GET", "/api/status").statusCode()).isEqualTo(200);
        assertThat(call("GET", "/metrics").statusCode()).isEqualTo(200);
        assertThat(call("GET", "/api/status", "Authorization", "Bearer nope").statusCode())
                .as("wrong credentials are refused even where none are needed").isEqualTo(403);
        assertThat(call("GET", "/healthz", "Authorization", "Bearer nope").statusCode()).isEqualTo(200);
    }

    @Test
    void aCrossOriginBrowserRequestChangesNothingEvenWithTheToken() throws Exception {
        int before = actions.get();
        assertThat(call("POST", "/api/x/drain", "Authorization", "Bearer " + TOKEN, "Origin", "http://evil.example")
                .statusCode()).isEqualTo(403);
        assertThat(call("POST", "/api/x/drain", "Authorization", "Bearer " + TOKEN, "Sec-Fetch-Site", "cross-site")
                .statusCode()).isEqualTo(403);
        assertThat(actions.get()).isEqualTo(before);
        assertThat(call("POST", "/api/x/drain", "Authorization", "Bearer " + TOKEN,
                "Origin", "http://127.0.0.1:" + admin.port()).statusCode()).as("same origin").isEqualTo(200);
    }

    @Test
    void withoutCredentialsOnlyAddressLiteralsAndLocalhostAreServed() throws Exception {
        AdminServer open = AdminServer.start(vertx, null, 0, metrics, () -> true,
                Map.of("/api", req -> req.response().end("{}")), AdminAccess.OPEN).await(5, TimeUnit.SECONDS);
        try {
            String base = "http://127.0.0.1:" + open.port();
            assertThat(HTTP.send(HttpRequest.newBuilder(URI.create(base + "/api/status")).build(),
                    HttpResponse.BodyHandlers.ofString()).statusCode()).isEqualTo(200);
            // A DNS-rebinding page: the browser connects to 127.0.0.1 but sends its own host name.
            java.net.Socket s = new java.net.Socket("127.0.0.1", open.port());
            try (s) {
                s.setSoTimeout(20_000);
                s.getOutputStream().write(("POST /api/x/drain HTTP/1.1\r\nHost: rebind.example:" + open.port()
                        + "\r\nContent-Length: 0\r\nConnection: close\r\n\r\n").getBytes());
                String reply = new String(s.getInputStream().readAllBytes());
                assertThat(reply).startsWith("HTTP/1.1 403").contains("DNS name");
            }
            java.net.Socket l = new java.net.Socket("127.0.0.1", open.port());
            try (l) {
                l.setSoTimeout(20_000);
                l.getOutputStream().write(("GET /api/status HTTP/1.1\r\nHost: localhost:" + open.port()
                        + "\r\nConnection: close\r\n\r\n").getBytes());
                assertThat(new String(l.getInputStream().readAllBytes())).startsWith("HTTP/1.1 200");
            }
        } finally {
            open.close().await(5, TimeUnit.SECONDS);
        }
    }

    @Test
    void accessEndpointTellsThePageWhatItMayDo() throws Exception {
        assertThat(call("GET", "/api/access").body()).contains("\"auth\":true").contains("\"canAct\":false")
                .contains("\"authenticated\":false");
        assertThat(call("GET", "/api/access", "Authorization", "Bearer " + TOKEN).body())
                .contains("\"authenticated\":true").contains("\"canAct\":true");
    }

    @Test
    void statusPageFilesAreServedFromTheJarWithAStrictPolicyAndNothingElse() throws Exception {
        HttpResponse<String> page = call("GET", "/");
        assertThat(page.statusCode()).isEqualTo(200);
        assertThat(page.headers().firstValue("Content-Type")).hasValue("text/css; charset=utf-8");
        assertThat(page.headers().firstValue("Content-Security-Policy").orElse("")).contains("script-src 'self'")
                .doesNotContain("unsafe-inline");
        assertThat(call("GET", "/ui/common.js").statusCode()).isEqualTo(200);
        assertThat(call("GET", "/ui/nope.js").statusCode()).isEqualTo(404);
        assertThat(call("GET", "/ui/..%2Fio%2Ftiergate%2Fshared%2Flogging%2FLogging.class").statusCode()).isEqualTo(404);
        assertThat(call("GET", "/ui/../io/tiergate/shared/logging/Logging.class").statusCode()).isEqualTo(404);
        assertThat(call("GET", "/ui/").statusCode()).isEqualTo(404);
        assertThat(call("POST", "/ui/common.js", "Authorization", "Bearer " + TOKEN).statusCode()).isEqualTo(405);
    }
}
