package io.tiergate.proxy.forward;

import io.vertx.core.Handler;
import io.vertx.core.MultiMap;
import io.vertx.core.buffer.Buffer;

/** A response head from an upstream and its body to come, whichever {@link UpstreamSender} got it. */
interface UpstreamResponse {
    int status();

    /** The reason phrase, or null. */
    String statusMessage();

    /** The head's fields as received (hop-by-hop ones included). */
    MultiMap headers();

    /** The trailer fields, complete once the end handler has run (empty when none). */
    MultiMap trailers();

    /** Body chunks; set together with {@link #endHandler} and {@link #exceptionHandler} before anything else. */
    void handler(Handler<Buffer> chunk);

    /**
     * The end of the body. Its argument is the body's last bytes when they arrived together with the end (they are
     * then not passed to the chunk handler), else null: a small response can then be written to the client with its
     * end in one write and one flush.
     */
    void endHandler(Handler<Buffer> end);

    /** The body broke off (reset, bad framing); nothing else is called after it. */
    void exceptionHandler(Handler<Throwable> error);

    /** Stops reading from the upstream (back-pressure from a slow client); the {@link #watchReads} clock stops. */
    void pause();

    void resume();

    /**
     * {@code upstream_read} for the body: runs {@code onSilence} once when no byte has arrived for {@code idleMs}
     * while reading. Stops at the end, an error or {@link #abort}; a pause stops the clock, resume restarts it.
     */
    void watchReads(long idleMs, Runnable onSilence);

    /** Reads and drops the rest of the body so the connection can be reused (a response that is retried). */
    void discard();

    /** Drops the response and closes its connection: it is never pooled again. Handlers are not called after it. */
    void abort();
}
