package io.tiergate.proxy;

import io.tiergate.proxy.config.ProxyConfig;
import io.vertx.core.Context;
import io.vertx.core.http.HttpConnection;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Slowloris defence Netty does not give us: a connection must deliver a complete request head within
 * {@code client_header} of opening, and the next one within {@code keepalive} of the previous response; otherwise
 * it is closed. (Vert.x's idle timeout alone is reset by every trickled byte.)
 *
 * <p>Timers run on one dedicated context: timers set from inside Vert.x 5's connection handler were observed
 * never to fire, so the guard does not rely on the connection's context. State is therefore thread-safe.
 */
final class ConnectionGuard {
    private static final Map<HttpConnection, ConnectionGuard> GUARDS = new ConcurrentHashMap<>();

    private final HttpConnection conn;
    private final Context timers;
    private final ProxyConfig config;
    private final AtomicInteger inFlight = new AtomicInteger();
    private long timer = -1;

    ConnectionGuard(Context timers, HttpConnection conn, ProxyConfig config) {
        this.conn = conn;
        this.timers = timers;
        this.config = config;
        GUARDS.put(conn, this);
        conn.closeHandler(v -> {
            GUARDS.remove(conn);
            timers.runOnContext(x -> cancel());
        });
        timers.runOnContext(x -> arm(config.timeouts().clientHeader().toMillis()));
    }

    // Only ever called on the timers context.
    private void arm(long ms) {
        cancel();
        if (!GUARDS.containsKey(conn)) {
            return;
        }
        timer = timers.owner().setTimer(ms, id -> {
            timer = -1;
            if (inFlight.get() == 0) {
                conn.close();
            }
        });
    }

    private void cancel() {
        if (timer >= 0) {
            timers.owner().cancelTimer(timer);
            timer = -1;
        }
    }

    static void requestStarted(HttpConnection c) {
        ConnectionGuard g = GUARDS.get(c);
        if (g != null) {
            g.inFlight.incrementAndGet();
            g.timers.runOnContext(x -> g.cancel());
        }
    }

    static void requestEnded(HttpConnection c) {
        ConnectionGuard g = GUARDS.get(c);
        if (g != null && g.inFlight.decrementAndGet() == 0) {
            g.timers.runOnContext(x -> {
                if (g.inFlight.get() == 0) {
                    g.arm(g.config.timeouts().keepalive().toMillis());
                }
            });
        }
    }
}
