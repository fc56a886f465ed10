package io.tiergate.proxy.compress;

import io.vertx.core.buffer.Buffer;

/**
 * A streaming content coding: feed chunks as they arrive (each call returns what can already be sent, flushed so
 * the client can decode it), then {@link #finish()}. One per response, not thread-safe; {@link #close()} releases
 * native state when the response is abandoned (harmless after finish).
 */
public interface ContentEncoder extends AutoCloseable {
    Buffer write(Buffer chunk);

    Buffer finish();

    @Override
    void close();
}
