package io.tiergate.proxy;

import io.tiergate.proxy.config.ProxyConfig;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpConnection;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Slowloris defence Netty does not give us: a connection must deliver a complete request head within
 * {@code client_header} of opening, and the next one within {@code keepalive} of the previous response; otherwise
 * it is closed. (Vert.x's idle timeout alone is reset by every trickled byte.)
 */
final class ConnectionGuard {
    private static final Map<HttpConnection, ConnectionGuard> GUARDS = new ConcurrentHashMap<>();

    private final HttpConnection conn;
    private final Vertx vertx;
    private final ProxyConfig config;
    private long timer = -1;
    private int inFlight;

    ConnectionGuard(HttpConnection conn, ProxyConfig config) {
        this.conn = conn;
        this.vertx = io.vertx.core.Vertx.currentContext().owner();
        this.config = config;
        GUARDS.put(conn, this);
        conn.closeHandler(v -> {
            cancel();
            GUARDS.remove(conn);
        });
        arm(config.timeouts().clientHeader().toMillis());
    }

    private void arm(long ms) {
        cancel();
        timer = vertx.setTimer(ms, id -> {
            timer = -1;
            if (inFlight == 0) {
                conn.close();
            }
        });
    }

    private void cancel() {
        if (timer >= 0) {
            vertx.cancelTimer(timer);
            timer = -1;
        }
    }

    static void requestStarted(HttpConnection c) {
        ConnectionGuard g = GUARDS.get(c);
        if (g != null) {
            g.inFlight++;
            g.cancel();
        }
    }

    static void requestEnded(HttpConnection c) {
        ConnectionGuard g = GUARDS.get(c);
        if (g != null && --g.inFlight == 0) {
            g.arm(g.config.timeouts().keepalive().toMillis());
        }
    }
}
