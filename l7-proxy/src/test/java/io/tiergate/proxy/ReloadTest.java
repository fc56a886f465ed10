package io.tiergate.proxy;

import io.tiergate.proxy.support.Origin;
import io.tiergate.proxy.support.Proxies;
import io.tiergate.shared.Contexts;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpClientAgent;
import io.vertx.core.http.PoolOptions;
import io.vertx.core.http.RequestOptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.time.Duration;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;

@Timeout(30)
class ReloadTest {
    static String yaml(Origin o) {
        return """
                node_name: n1
                access_log: {format: off}
                listeners: [{address: 127.0.0.1:0}]
                upstreams: {app: {servers: [{address: %s}]}}
                servers: [{default: true, locations: [{prefix: /, upstream: app}]}]
                """.formatted(o.address());
    }

    @Test
    void reloadingUnderLoadDropsNothingAndSwitchesUpstreams() {
        Vertx vertx = io.tiergate.shared.runtime.Runtimes.vertx();
        Origin a = Origin.start(vertx, "a", (o, req, b) -> vertx.setTimer(5, t -> req.response().end("a")));
        Origin b = Origin.start(vertx, "b", (o, req, b2) -> vertx.setTimer(5, t -> req.response().end("b")));
        ProxyNode proxy = Proxies.start(vertx, yaml(a));
        int port = proxy.listenPorts().get(0);
        HttpClientAgent client = vertx.createHttpClient(new PoolOptions().setHttp1MaxSize(16));
        AtomicBoolean running = new AtomicBoolean(true);
        AtomicInteger ok = new AtomicInteger();
        AtomicInteger errors = new AtomicInteger();
        AtomicInteger loops = new AtomicInteger();
        Runnable[] loop = new Runnable[1];
        loop[0] = () -> {
            if (!running.get()) {
                loops.decrementAndGet();
                return;
            }
            client.request(new RequestOptions().setHost("127.0.0.1").setPort(port).setURI("/"))
                    .compose(r -> r.send().compose(s -> s.body().map(x -> s.statusCode())))
                    .onComplete(ar -> {
                        if (ar.succeeded() && ar.result() == 200) {
                            ok.incrementAndGet();
                        } else {
                            errors.incrementAndGet();
                        }
                        loop[0].run();
                    });
        };
        for (int i = 0; i < 16; i++) {
            loops.incrementAndGet();
            vertx.runOnContext(v -> loop[0].run());
        }
        for (int i = 0; i < 20; i++) {
            Origin.await(proxy.reload(Proxies.config(yaml(i % 2 == 0 ? b : a))));
            Origin.await(Future.future(p -> vertx.setTimer(25, t -> p.complete())));
        }
        running.set(false);
        long end = System.nanoTime() + Duration.ofSeconds(5).toNanos();
        while (loops.get() > 0 && System.nanoTime() < end) {
            Thread.onSpinWait();
        }
        assertThat(errors).as("20 reloads under 16 concurrent request loops must not fail a single request").hasValue(0);
        assertThat(ok.get()).as("load was actually running").isGreaterThan(100);
        assertThat(a.hits.get()).isGreaterThan(0);
        assertThat(b.hits.get()).as("after reloads, traffic went to the new upstream too").isGreaterThan(0);
        Origin.await(proxy.shutdown(Duration.ofSeconds(1)));
        Origin.await(vertx.close());
    }

    @Test
    void shutdownLetsAnInFlightRequestFinish() {
        Vertx vertx = io.tiergate.shared.runtime.Runtimes.vertx();
        Origin slow = Origin.start(vertx, "slow", (o, req, b) -> vertx.setTimer(300, t -> req.response().end("done")));
        ProxyNode proxy = Proxies.start(vertx, yaml(slow));
        int port = proxy.listenPorts().get(0);
        HttpClientAgent client = vertx.createHttpClient();
        Future<String> inflight = Contexts.onContext(vertx, () -> client.request(new RequestOptions()
                .setHost("127.0.0.1").setPort(port).setURI("/")).compose(r -> r.send().compose(s -> s.body())))
                .map(Object::toString);
        Origin.await(Future.future(p -> vertx.setTimer(100, t -> p.complete())));
        Future<Void> stopped = proxy.shutdown(Duration.ofSeconds(5));
        assertThat(Origin.await(inflight)).as("a request running when shutdown starts still completes").isEqualTo("done");
        Origin.await(stopped);
        Origin.await(vertx.close());
    }
}
