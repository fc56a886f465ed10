package io.tiergate.proxy.forward;

import io.tiergate.proxy.ProxyNode;
import io.tiergate.proxy.support.Origin;
import io.tiergate.proxy.support.Proxies;
import io.tiergate.shared.Contexts;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClientAgent;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.RequestOptions;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.zip.CRC32;

import static io.tiergate.proxy.support.Proxies.get;
import static org.assertj.core.api.Assertions.assertThat;

@Timeout(30)
class RetryTest {
    Vertx vertx;
    HttpClientAgent client;
    List<AutoCloseable> closers = new ArrayList<>();
    ProxyNode proxy;

    @BeforeEach
    void setUp() {
        vertx = io.tiergate.shared.runtime.Runtimes.vertx();
        client = vertx.createHttpClient();
    }

    @AfterEach
    void tearDown() throws Exception {
        if (proxy != null) {
            Origin.await(proxy.shutdown(Duration.ofSeconds(1)));
        }
        for (AutoCloseable c : closers) {
            c.close();
        }
        Origin.await(vertx.close());
    }

    Origin origin(Origin o) {
        closers.add(o);
        return o;
    }

    /** A proxy in front of {@code servers} (host:port strings, in round-robin order) with extra retry settings. */
    int proxy(String retry, String upstreamRead, String... servers) {
        StringBuilder list = new StringBuilder();
        for (String s : servers) {
            list.append("        - {address: ").append(s).append(", max_fails: 0}\n");
        }
        proxy = Proxies.start(vertx, """
                node_name: test-node
                add_node_header: X-Tiergate-Node
                access_log: {format: off}
                listeners: [{address: 127.0.0.1:0}]
                timeouts: {upstream_connect: 1s, upstream_read: %s}
                limits: {max_body_size: 4m}
                body_buffer: {memory: 64k, max: 2m}
                retry: %s
                upstreams:
                  app:
                    servers:
                %s
                servers:
                  - default: true
                    locations: [{prefix: /, upstream: app}]
                """.formatted(upstreamRead, retry, list));
        return proxy.listenPorts().get(0);
    }

    @Test
    void refusedConnectionIsRetriedOnAnotherServerAndTheClientSees200() {
        Origin ok = origin(Origin.status(vertx, "ok", 200));
        int port = proxy("{}", "5s", "127.0.0.1:" + Proxies.deadPort(), ok.address());
        for (int i = 0; i < 4; i++) {
            var r = get(client, port, "/x");
            assertThat(r.status()).as("a refused connection must be re-sent to the live server").isEqualTo(200);
            assertThat(r.body()).isEqualTo("ok");
            assertThat(r.headers().get("X-Tiergate-Node")).as("the node header names the proxy").isEqualTo("test-node");
        }
        assertThat(ok.hits).hasValue(4);
    }

    @Test
    void a502IsRetriedOnAnotherServer() {
        Origin bad = origin(Origin.status(vertx, "bad", 502));
        Origin ok = origin(Origin.status(vertx, "ok", 200));
        int port = proxy("{}", "5s", bad.address(), ok.address());
        for (int i = 0; i < 4; i++) {
            assertThat(get(client, port, "/").status()).as("a 502 from one server is retried on the other").isEqualTo(200);
        }
        assertThat(bad.hits.get()).as("round robin sent some first attempts to the failing server").isGreaterThan(0);
        assertThat(ok.hits).hasValue(4);
    }

    @Test
    void aTimeoutIsRetriedAndWithNoOtherServerTheClientGets504() {
        Origin silent = origin(Origin.start(vertx, "silent", (o, req, body) -> { }));
        Origin ok = origin(Origin.status(vertx, "ok", 200));
        int port = proxy("{}", "300ms", silent.address(), ok.address());
        for (int i = 0; i < 2; i++) {
            assertThat(get(client, port, "/").status()).as("a server that never answers is retried").isEqualTo(200);
        }
        Origin.await(proxy.shutdown(Duration.ofSeconds(1)));
        port = proxy("{}", "300ms", silent.address());
        long t0 = System.nanoTime();
        var r = get(client, port, "/");
        assertThat(r.status()).as("a lone silent server gives 504 Gateway Timeout").isEqualTo(504);
        assertThat(r.body()).contains("upstream timed out");
        assertThat(Duration.ofNanos(System.nanoTime() - t0)).as("after about the read timeout, not forever")
                .isLessThan(Duration.ofSeconds(3));
    }

    @Test
    void aResetBeforeTheResponseIsRetried() {
        Origin rude = origin(Origin.start(vertx, "rude", (o, req, body) -> req.connection().close()));
        Origin ok = origin(Origin.status(vertx, "ok", 200));
        int port = proxy("{}", "5s", rude.address(), ok.address());
        for (int i = 0; i < 3; i++) {
            assertThat(get(client, port, "/").status()).as("a GET whose connection closed before any response byte is retried")
                    .isEqualTo(200);
        }
    }

    @Test
    void aResetMidResponseIsNeverRetriedAndTheClientSeesTheConnectionBreak() {
        Origin half = origin(Origin.start(vertx, "half", (o, req, body) -> {
            req.response().putHeader("Content-Length", "1000").write("partial body");
            vertx.setTimer(50, t -> req.connection().close());
        }));
        Origin ok = origin(Origin.status(vertx, "ok", 200));
        int port = proxy("{}", "5s", half.address(), ok.address());
        Throwable failure = null;
        try {
            get(client, port, "/");
        } catch (RuntimeException e) {
            failure = e;
        }
        assertThat(failure).as("the client must see a broken response, not a complete one").isNotNull();
        assertThat(ok.hits).as("bytes already went to the client, so nothing may be retried").hasValue(0);
        assertThat(half.hits).hasValue(1);
    }

    @Test
    void aPostWithA1MiBBodyIsResentWholeAfterAConnectError() {
        Origin ok = origin(Origin.status(vertx, "ok", 200));
        int port = proxy("{}", "5s", "127.0.0.1:" + Proxies.deadPort(), ok.address());
        byte[] data = new byte[1_048_576];
        new Random(42).nextBytes(data);
        CRC32 crc = new CRC32();
        crc.update(data);
        for (int i = 0; i < 2; i++) { // round robin: one of the two goes to the dead server first
            var r = Proxies.send(client, port, HttpMethod.POST, "/upload", Buffer.buffer(data));
            assertThat(r.status()).as("the upload is re-sent to the live server").isEqualTo(200);
            Buffer got = ok.last().body();
            assertThat(got.length()).as("the second origin received every byte").isEqualTo(1_048_576);
            CRC32 c2 = new CRC32();
            c2.update(got.getBytes());
            assertThat(c2.getValue()).as("and exactly the bytes that were sent").isEqualTo(crc.getValue());
        }
    }

    @Test
    void aPostIsNotRetriedAfterItWasSentUnlessTheLocationAllowsIt() {
        Origin busy = origin(Origin.status(vertx, "busy", 503));
        Origin ok = origin(Origin.status(vertx, "ok", 200));
        int port = proxy("{}", "5s", busy.address(), ok.address());
        int seen503 = 0;
        for (int i = 0; i < 4; i++) {
            if (Proxies.send(client, port, HttpMethod.POST, "/", Buffer.buffer("x")).status() == 503) {
                seen503++;
            }
        }
        assertThat(seen503).as("a POST that reached a server is not repeated elsewhere by default").isEqualTo(2);
        Origin.await(proxy.shutdown(Duration.ofSeconds(1)));
        port = proxy("{non_idempotent: true}", "5s", busy.address(), ok.address());
        for (int i = 0; i < 4; i++) {
            assertThat(Proxies.send(client, port, HttpMethod.POST, "/", Buffer.buffer("x")).status())
                    .as("with retry.non_idempotent: true the POST is retried").isEqualTo(200);
        }
    }

    @Test
    void theRetryBudgetCapsRetriesWhenTheWholeFleetFails() {
        List<Origin> fleet = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            fleet.add(origin(Origin.start(vertx, "sick" + i,
                    (o, req, body) -> vertx.setTimer(150, t -> req.response().setStatusCode(503).end()))));
        }
        int requests = 40;
        int port = proxy("{tries: 4, budget: {ratio: 0.2, min: 2}}", "5s",
                fleet.stream().map(Origin::address).toArray(String[]::new));
        HttpClientAgent wide = vertx.createHttpClient(new io.vertx.core.http.PoolOptions().setHttp1MaxSize(requests));
        List<Future<Integer>> all = new ArrayList<>();
        for (int i = 0; i < requests; i++) {
            all.add(Contexts.onContext(vertx, () -> wide.request(new RequestOptions().setHost("127.0.0.1").setPort(port)
                    .setURI("/")).compose(r -> r.send().compose(x -> x.body().map(b -> x.statusCode())))));
        }
        Origin.await(Future.all(all));
        int hits = fleet.stream().mapToInt(o -> o.hits.get()).sum();
        assertThat(all).allSatisfy(f -> assertThat(f.result()).isEqualTo(503));
        assertThat(hits).as("without a budget %d requests × 4 tries would hit the origins %d times; the budget "
                        + "(20%% of active requests) must keep retries to a fraction of that", requests, requests * 4)
                .isLessThanOrEqualTo(requests * 3 / 2)
                .isGreaterThan(requests);
    }

    @Test
    void withEveryServerDownTheAnswerIsAFast503ThatSaysSo() {
        int port;
        proxy = Proxies.start(vertx, """
                access_log: {format: off}
                listeners: [{address: 127.0.0.1:0}]
                upstreams:
                  app: {servers: [{address: "127.0.0.1:%d", max_fails: 1, fail_timeout: 30s},
                                  {address: "127.0.0.1:%d", max_fails: 1, fail_timeout: 30s}]}
                servers: [{default: true, locations: [{prefix: /, upstream: app}]}]
                """.formatted(Proxies.deadPort(), Proxies.deadPort()));
        port = proxy.listenPorts().get(0);
        assertThat(get(client, port, "/").status()).as("the first request finds both servers refusing").isEqualTo(502);
        long t0 = System.nanoTime();
        var r = get(client, port, "/");
        assertThat(r.status()).as("with both servers marked down, the proxy answers 503 itself").isEqualTo(503);
        assertThat(r.body()).contains("no live upstream").contains("'app'");
        assertThat(Duration.ofNanos(System.nanoTime() - t0)).isLessThan(Duration.ofMillis(500));
    }
}
