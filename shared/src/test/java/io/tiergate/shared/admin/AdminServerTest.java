package io.tiergate.shared.admin;

import static org.assertj.core.api.Assertions.assertThat;

import io.tiergate.shared.metrics.Metrics;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpClientAgent;
import io.vertx.core.http.HttpMethod;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class AdminServerTest {

    private static Vertx vertx;
    private static Metrics metrics;
    private static AdminServer admin;
    private static HttpClientAgent client;
    private static io.vertx.core.Context context;
    private static final AtomicBoolean ready = new AtomicBoolean(false);

    record Reply(int status, String contentType, String body) { }

    @BeforeAll
    static void start() throws Exception {
        vertx = Vertx.vertx();
        metrics = new Metrics(Map.of("tier", "test"));
        metrics.registry().counter("tiergate_test_requests").increment(3);
        admin = AdminServer.start(vertx, null, 0, metrics, ready::get, Map.of(
                "/api", req -> req.response().putHeader("Content-Type", "application/json")
                        .end("{\"path\":\"" + req.path() + "\"}"),
                "/api/special", req -> req.response().end("special"),
                "/boom", req -> { throw new IllegalStateException("bug"); }))
                .await(5, TimeUnit.SECONDS);
        client = vertx.createHttpClient();
        context = vertx.getOrCreateContext();
    }

    @AfterAll
    static void stop() throws Exception {
        admin.close().await(5, TimeUnit.SECONDS);
        metrics.close();
        vertx.close().await(5, TimeUnit.SECONDS);
    }

    private static Reply call(HttpMethod method, String path) throws Exception {
        // Driven from an event-loop context: from a plain thread the response body can race ahead of
        // the body() handler and read as empty.
        io.vertx.core.Promise<Reply> reply = io.vertx.core.Promise.promise();
        context.runOnContext(v -> client.request(method, admin.port(), "127.0.0.1", path)
                .compose(r -> r.send().compose(resp -> resp.body().map(b -> new Reply(resp.statusCode(),
                        resp.getHeader("Content-Type"), b.toString()))))
                .onComplete(reply));
        return reply.future().await(5, TimeUnit.SECONDS);
    }

    @Test
    void metricsArePrometheusTextWithJvmAndOwnMeters() throws Exception {
        Reply r = call(HttpMethod.GET, "/metrics");
        assertThat(r.status()).isEqualTo(200);
        assertThat(r.contentType()).startsWith("text/plain; version=0.0.4");
        assertThat(r.body())
                .contains("# TYPE jvm_memory_used_bytes gauge")
                .contains("process_uptime_seconds")
                .contains("tiergate_test_requests_total{tier=\"test\"} 3.0");
    }

    /**
     * A scrape renders every series: with a few hundred routes, thousands of lines and tens of milliseconds. Rendered
     * on the event loop, it stalled every connection that loop serves (proxied requests included). Here a gauge
     * holds the scrape until released: meanwhile /healthz, on the same and only event loop, must still answer.
     */
    @Test
    void aSlowScrapeDoesNotHoldUpTheEventLoop() throws Exception {
        Vertx oneLoop = Vertx.vertx(new io.vertx.core.VertxOptions().setEventLoopPoolSize(1));
        java.util.concurrent.CountDownLatch entered = new java.util.concurrent.CountDownLatch(1);
        java.util.concurrent.CountDownLatch release = new java.util.concurrent.CountDownLatch(1);
        AtomicBoolean onLoop = new AtomicBoolean();
        try (Metrics slow = new Metrics(Map.of("tier", "test"))) {
            io.micrometer.core.instrument.Gauge.builder("tiergate_test_slow", release, l -> {
                onLoop.set(io.vertx.core.Context.isOnEventLoopThread());
                entered.countDown();
                try {
                    return l.await(10, TimeUnit.SECONDS) ? 7 : -1;
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return -1;
                }
            }).strongReference(true).register(slow.registry());
            AdminServer a = AdminServer.start(oneLoop, null, 0, slow, () -> true, Map.of())
                    .await(5, TimeUnit.SECONDS);
            try {
                io.vertx.core.Promise<Reply> scrape = io.vertx.core.Promise.promise();
                context.runOnContext(v -> client.request(HttpMethod.GET, a.port(), "127.0.0.1", "/metrics")
                        .compose(r -> r.send().compose(resp -> resp.body().map(b -> new Reply(resp.statusCode(),
                                resp.getHeader("Content-Type"), b.toString()))))
                        .onComplete(scrape));
                assertThat(entered.await(10, TimeUnit.SECONDS)).as("the scrape reached the gauge").isTrue();
                io.vertx.core.Promise<Integer> health = io.vertx.core.Promise.promise();
                context.runOnContext(v -> client.request(HttpMethod.GET, a.port(), "127.0.0.1", "/healthz")
                        .compose(r -> r.send().map(resp -> resp.statusCode())).onComplete(health));
                assertThat(health.future().await(5, TimeUnit.SECONDS))
                        .as("/healthz answers while a scrape is under way").isEqualTo(200);
                assertThat(scrape.future().isComplete()).as("the scrape was still waiting for the gauge").isFalse();
                release.countDown();
                Reply r = scrape.future().await(10, TimeUnit.SECONDS);
                assertThat(r.status()).isEqualTo(200);
                assertThat(r.body()).contains("tiergate_test_slow{tier=\"test\"} 7.0");
                assertThat(onLoop.get()).as("the gauge was read on an event loop thread").isFalse();
            } finally {
                release.countDown();
                a.close().await(5, TimeUnit.SECONDS);
            }
        } finally {
            oneLoop.close().await(5, TimeUnit.SECONDS);
        }
    }

    @Test
    void healthzAlwaysOkAndReadyzFollowsTheSupplier() throws Exception {
        assertThat(call(HttpMethod.GET, "/healthz")).isEqualTo(new Reply(200, "text/plain; charset=utf-8", "ok\n"));
        ready.set(false);
        assertThat(call(HttpMethod.GET, "/readyz").status()).isEqualTo(503);
        assertThat(call(HttpMethod.GET, "/readyz").body()).isEqualTo("not ready\n");
        ready.set(true);
        assertThat(call(HttpMethod.GET, "/readyz")).isEqualTo(new Reply(200, "text/plain; charset=utf-8", "ready\n"));
    }

    @Test
    void extraRoutesMatchByPathPrefixLongestFirst() throws Exception {
        assertThat(call(HttpMethod.GET, "/api").body()).isEqualTo("{\"path\":\"/api\"}");
        assertThat(call(HttpMethod.POST, "/api/services/web").body()).isEqualTo("{\"path\":\"/api/services/web\"}");
        assertThat(call(HttpMethod.GET, "/api/special/x").body()).isEqualTo("special");
        assertThat(call(HttpMethod.GET, "/apis").status()).as("/apis is not under /api").isEqualTo(404);
    }

    @Test
    void unknownPathsWrongMethodsAndBrokenHandlersGetPlainStatuses() throws Exception {
        assertThat(call(HttpMethod.GET, "/nope").status()).isEqualTo(404);
        assertThat(call(HttpMethod.POST, "/healthz").status()).isEqualTo(405);
        Reply boom = call(HttpMethod.GET, "/boom");
        assertThat(boom.status()).isEqualTo(500);
        assertThat(boom.body()).doesNotContain("IllegalStateException");
    }
}
