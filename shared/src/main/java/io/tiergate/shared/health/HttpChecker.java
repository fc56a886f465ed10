package io.tiergate.shared.health;

import io.tiergate.shared.runtime.TlsEngines;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpClientAgent;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpClientRequest;
import io.vertx.core.http.HttpClientResponse;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.PoolOptions;
import io.vertx.core.http.RequestOptions;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;

/**
 * GET {@code httpPath}; healthy when the status is expected and, if asked, the body contains the
 * substring. Each probe uses a fresh connection: reusing a pooled one would miss a listener that
 * stopped accepting, which is exactly what a health check must notice.
 */
final class HttpChecker implements Checker {

    private final Vertx vertx;
    private final PoolOptions pool;
    private final HttpClientAgent plain;
    private HttpClientAgent tls; // made by the first HTTPS probe: most checkers never need it (nor its engine line)

    HttpChecker(Vertx vertx) {
        this.vertx = vertx;
        // Many targets may share one host:port (virtual hosts); a small pool would queue their
        // probes behind each other and turn waiting time into false timeouts.
        this.pool = new PoolOptions().setHttp1MaxSize(4096).setMaxWaitQueueSize(-1);
        this.plain = client(vertx, new HttpClientOptions().setKeepAlive(false), pool);
    }

    /**
     * A health probe asks "is it serving", not "is its certificate valid": the proxy's TLS to upstreams is where trust
     * is enforced. Every HTTPS probe is a new connection and a full handshake: on BoringSSL ({@link TlsEngines}) it
     * costs a fraction of the JDK engine's CPU, which adds up with many servers.
     */
    private synchronized HttpClientAgent tls() {
        if (tls == null) {
            tls = client(vertx, new HttpClientOptions().setKeepAlive(false).setSsl(true)
                    .setTrustAll(true).setVerifyHost(false).setSslEngineOptions(TlsEngines.client()), pool);
        }
        return tls;
    }

    // A target killed mid-probe resets the connection: the probe fails with that reason (and the engine
    // reports a state change once). Without a connection handler Vert.x would also log an ERROR line
    // "Connection reset" per probe that was in flight.
    private static HttpClientAgent client(Vertx vertx, HttpClientOptions options, PoolOptions pool) {
        return vertx.httpClientBuilder().with(options).with(pool)
                .withConnectHandler(c -> c.exceptionHandler(e -> { })).build();
    }

    @Override
    public void probe(ProbeAttempt attempt) {
        HealthTarget t = attempt.target;
        HealthCheck check = t.check();
        long timeoutMs = attempt.timeoutMs;
        boolean https = check.type() == HealthCheck.Type.HTTPS || t.tls() != null;
        RequestOptions options = new RequestOptions()
                .setMethod(HttpMethod.GET)
                .setHost(t.tls() != null ? t.tls().serverName() : t.host())
                .setPort(t.port())
                .setServer(io.vertx.core.net.SocketAddress.inetSocketAddress(t.port(), t.host()))
                .setURI(check.httpPath())
                .setSsl(https)
                .setConnectTimeout(timeoutMs)
                .setIdleTimeout(timeoutMs)
                .putHeader("User-Agent", "tiergate-health")
                .putHeader("Connection", "close");
        if (t.tls() != null) {
            options.setSslOptions(t.tls().options()); // verified like the traffic, not trust-all
        }
        if (check.httpHost() != null) {
            options.putHeader("Host", check.httpHost());
        }
        AtomicReference<HttpClientRequest> inFlight = new AtomicReference<>();
        // Runs whenever the attempt ends, also after a verdict: only a probe still waiting for its response head is
        // reset (a timeout); an answered one is left to drain.
        AtomicBoolean answered = new AtomicBoolean();
        attempt.onCancel(() -> {
            HttpClientRequest r = inFlight.get();
            if (r != null && !answered.get()) {
                r.reset();
            }
        });
        // The response handling is attached to send()'s own future, not to a composed one: a listener of a composed
        // future may run on a later event-loop turn, after the first body chunks were delivered (and dropped) with
        // no handler set, so a body_contains check would see a truncated body.
        (https ? tls() : plain).request(options).onComplete(rar -> {
            if (rar.failed()) {
                attempt.fail(Checker.describe(rar.cause(), timeoutMs));
                return;
            }
            HttpClientRequest req = rar.result();
            // Before anything can reset it: a request reset before send() (its target removed by a reload, or timed
            // out, while the connection was being made) has no response to fail, and without a handler Vert.x logs
            // the reset as an ERROR "Stream reset: 0".
            req.exceptionHandler(e -> attempt.fail(Checker.describe(e, timeoutMs)));
            inFlight.set(req);
            if (attempt.finished()) {
                req.reset();
                return;
            }
            req.send().onComplete(ar -> {
                    if (ar.failed()) {
                        attempt.fail(Checker.describe(ar.cause(), timeoutMs));
                        return;
                    }
                    var resp = ar.result();
                    answered.set(true);
                    // The verdict is known from the status line, but the response is still read to its end: resetting
                    // the stream instead logs "Stream reset: 0" with a stack trace from Vert.x on every probe, and a
                    // server that answers "Connection: close" closes cleanly once the body is consumed. A failure while
                    // draining after the verdict (a trickling body hitting the idle timeout) changes nothing.
                    resp.exceptionHandler(e -> attempt.fail(Checker.describe(e, timeoutMs)));
                    int status = resp.statusCode();
                    if (!check.statusOk(status)) {
                        attempt.fail("HTTP " + status);
                        drain(resp);
                        return;
                    }
                    if (check.bodyContains() == null) {
                        attempt.succeed("HTTP " + status);
                        drain(resp);
                        return;
                    }
                    resp.body().onComplete(body -> {
                        if (body.failed()) {
                            attempt.fail(Checker.describe(body.cause(), timeoutMs));
                        } else if (body.result().toString().contains(check.bodyContains())) {
                            attempt.succeed("HTTP " + status + ", body matched");
                        } else {
                            attempt.fail("HTTP " + status + ", body lacks \"" + check.bodyContains() + "\"");
                        }
                    });
            });
        });
    }

    /** Reads the rest of the response and throws it away; the connection (Connection: close) then ends normally. */
    private static void drain(HttpClientResponse resp) {
        resp.handler(chunk -> { });
        resp.end();
    }

    @Override
    public void close() {
        plain.close();
        synchronized (this) {
            if (tls != null) {
                tls.close();
            }
        }
    }
}
