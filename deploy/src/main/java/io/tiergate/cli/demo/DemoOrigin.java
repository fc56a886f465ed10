package io.tiergate.cli.demo;

import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;

import java.util.concurrent.atomic.AtomicLong;

/**
 * A tiny app server for the demo and the lab: answers every request with who it is, what it was asked and who
 * forwarded it, so a user can see both tiers at work. {@code /slow?ms=N} waits, {@code POST} echoes the body size.
 */
public final class DemoOrigin {
    public static final String HEADER = "X-Tiergate-Origin";

    private final String name;
    private final HttpServer server;
    private final AtomicLong served = new AtomicLong();

    private DemoOrigin(String name, HttpServer server) {
        this.name = name;
        this.server = server;
    }

    public static Future<DemoOrigin> start(Vertx vertx, String name, String host, int port) {
        HttpServer server = vertx.createHttpServer(new HttpServerOptions().setHost(host).setPort(port));
        DemoOrigin origin = new DemoOrigin(name, server);
        server.requestHandler(req -> req.body().onComplete(ar -> {
            origin.served.incrementAndGet();
            Buffer body = ar.succeeded() ? ar.result() : Buffer.buffer();
            long delay = 0;
            if (req.path().equals("/slow")) {
                try {
                    delay = Math.min(30_000, Long.parseLong(req.getParam("ms", "1000")));
                } catch (NumberFormatException e) {
                    delay = 1000;
                }
            }
            String text = "Hello from " + name + "\n"
                    + "  you asked for: " + req.method() + " " + req.uri() + "\n"
                    + "  Host: " + req.getHeader("Host") + "\n"
                    + "  connection from: " + req.remoteAddress() + "\n"
                    + "  X-Forwarded-For: " + req.getHeader("X-Forwarded-For") + "\n"
                    + (body.length() > 0 ? "  request body: " + body.length() + " bytes\n" : "");
            Runnable reply = () -> req.response()
                    .putHeader(HEADER, name)
                    .putHeader("Content-Type", "text/plain; charset=utf-8")
                    .end(text);
            if (delay > 0) {
                vertx.setTimer(delay, t -> reply.run());
            } else {
                reply.run();
            }
        }));
        return server.listen().map(s -> origin);
    }

    public String name() {
        return name;
    }

    public int port() {
        return server.actualPort();
    }

    public long served() {
        return served.get();
    }

    public Future<Void> close() {
        return server.close();
    }
}
