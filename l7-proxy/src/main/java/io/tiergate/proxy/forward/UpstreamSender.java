package io.tiergate.proxy.forward;

import io.tiergate.proxy.request.Authority;
import io.tiergate.proxy.upstream.Peer;
import io.tiergate.shared.runtime.LoopClock;
import io.vertx.core.MultiMap;
import io.vertx.core.http.HttpMethod;

/**
 * Sends one request to one server of an upstream group: the only thing an {@link Exchange} asks of a client. Two
 * implementations: {@link VertxSender} (Vert.x's HttpClient: TLS, HTTP/2, any body) and {@link NettySender} (plain
 * HTTP/1.1 on Netty channels pooled per event loop, for buffered bodies: the cheap path). {@link UpstreamClient}
 * chooses per request.
 */
interface UpstreamSender {

    /**
     * Starts one attempt. Exactly one of the listener's {@code connectFailed}, {@code failed}, {@code head} or {@code aborted} is
     * called later, on the calling event loop (never from inside this call).
     */
    Attempt send(Outbound request, Peer peer, boolean fresh, Listener listener);

    /**
     * What is sent, the same for every attempt of an exchange. {@code headers} are the upstream request's fields,
     * already rewritten (hop-by-hop removed, forwarding added); Host and Content-Length are the sender's.
     * {@code authority}: the Host field (normalized), null for the server's address. {@code readTimeoutMs}: the
     * longest silence before the response head. {@code deadline}: LoopClock.nanoTime() by which the exchange gives up.
     */
    record Outbound(HttpMethod method, String uri, MultiMap headers, Authority authority, Body body,
                    long connectTimeoutMs, long readTimeoutMs, long deadline) {
        /** {@code ms} cut to what is left before the deadline (at least 1). */
        long bounded(long ms) {
            return Math.min(ms, Math.max(1, (deadline - LoopClock.nanoTime()) / 1_000_000));
        }
    }

    /** An attempt in progress; {@link #abort} stops it whatever stage it is in (the connection is not pooled). */
    interface Attempt {
        void abort();
    }

    /** The outcome of an attempt. */
    interface Listener {
        /** No connection: nothing was sent. */
        void connectFailed(Throwable cause);

        /** The request went out (maybe partly) and no usable head came back. {@code reused}: on a pooled connection. */
        void failed(Throwable cause, boolean reused);

        /** A final (or 101) response head; its body follows through {@code response}. */
        void head(UpstreamResponse response);

        /** A 103 Early Hints from the origin. */
        void earlyHints(MultiMap hints);

        /** {@link Attempt#abort} came before anything was sent: the server did nothing wrong. */
        void aborted();
    }
}
