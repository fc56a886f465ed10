package io.tiergate.proxy;

import io.netty.channel.Channel;
import io.netty.util.AttributeKey;
import io.vertx.core.http.HttpConnection;

/**
 * HTTP/1.x: marks the response being written as the connection's last. {@link ConnectionGuard} then sends it with
 * {@code Connection: close}, closes the connection once it is written and drops any request head that follows
 * (pipelined behind a 400, say), so nothing after it is served or forwarded. Vert.x itself only closes for an exact
 * {@code Connection: close}, not for a token list such as {@code close, X-Foo}.
 */
public final class ClosingConnection {
    static final AttributeKey<Boolean> LAST = AttributeKey.valueOf("tiergateLastResponse");

    private ClosingConnection() {
    }

    /** Marks {@code conn}; false when it is not a Netty-backed connection (nothing can be marked). */
    public static boolean mark(HttpConnection conn) {
        Channel ch = channel(conn);
        if (ch == null) {
            return false;
        }
        ch.attr(LAST).set(Boolean.TRUE);
        return true;
    }

    /** Whether a request on {@code conn} came after a response that closes it: such a request is not served. */
    public static boolean marked(HttpConnection conn) {
        Channel ch = channel(conn);
        return ch != null && marked(ch);
    }

    static boolean marked(Channel ch) {
        // hasAttr first: attr() would add the attribute to every connection it is asked about (24 bytes each, kept)
        return ch.hasAttr(LAST) && Boolean.TRUE.equals(ch.attr(LAST).get());
    }

    private static Channel channel(HttpConnection conn) {
        // Vert.x 5 exposes the Netty channel only on its implementation class.
        return conn instanceof io.vertx.core.net.impl.ConnectionBase base ? base.channel() : null;
    }
}
