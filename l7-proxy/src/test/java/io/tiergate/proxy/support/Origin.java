package io.tiergate.proxy.support;

import io.vertx.core.Future;
import io.vertx.core.Handler;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerRequest;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/** A real origin server on 127.0.0.1:0 whose behaviour a test chooses; it counts and records what it received. */
public final class Origin implements AutoCloseable {
    public record Received(String method, String uri, io.vertx.core.MultiMap headers, Buffer body) {
    }

    public final AtomicInteger hits = new AtomicInteger();
    public final List<Received> received = new CopyOnWriteArrayList<>();
    private final HttpServer server;
    private final String name;

    private Origin(HttpServer server, String name) {
        this.server = server;
        this.name = name;
    }

    /** Answers every request with {@code status} and a body naming this origin, after reading the whole body. */
    public static Origin status(Vertx vertx, String name, int status) {
        return start(vertx, name, (o, req, body) -> req.response().setStatusCode(status).end(name));
    }

    public interface Behaviour {
        void handle(Origin origin, HttpServerRequest req, Buffer body);
    }

    public static Origin start(Vertx vertx, String name, Behaviour b) {
        return start(vertx, name, new io.vertx.core.http.HttpServerOptions(), b);
    }

    /** An origin with its own server options (TLS, client certificates, HTTP/2). */
    public static Origin start(Vertx vertx, String name, io.vertx.core.http.HttpServerOptions options, Behaviour b) {
        Origin[] self = new Origin[1];
        Handler<HttpServerRequest> h = req -> req.body().onSuccess(body -> {
            self[0].hits.incrementAndGet();
            self[0].received.add(new Received(req.method().name(), req.uri(), req.headers(), body));
            b.handle(self[0], req, body);
        });
        HttpServer s = await(vertx.createHttpServer(options).requestHandler(h).listen(0, "127.0.0.1"));
        self[0] = new Origin(s, name);
        return self[0];
    }

    /** A host:port some other server of a test listens on. */
    public record Address(String hostPort) {
    }

    public String address() {
        return "127.0.0.1:" + server.actualPort();
    }

    public String name() {
        return name;
    }

    public Received last() {
        return received.get(received.size() - 1);
    }

    @Override
    public void close() {
        await(server.close());
    }

    public static <T> T await(Future<T> f) {
        return await(f, java.time.Duration.ofSeconds(15));
    }

    public static <T> T await(Future<T> f, java.time.Duration timeout) {
        try {
            return f.toCompletionStage().toCompletableFuture().get(timeout.toMillis(), TimeUnit.MILLISECONDS);
        } catch (java.util.concurrent.ExecutionException e) {
            throw new RuntimeException(e.getCause());
        } catch (Exception e) {
            throw new RuntimeException(e);
        }
    }
}
