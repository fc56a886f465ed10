package io.tiergate.proxy.staticfiles;

import io.vertx.core.MultiMap;
import io.vertx.core.buffer.Buffer;

/**
 * What a static location answers: either a small generated body (errors, redirects, 304, 416) or a slice of a file
 * to send with {@code sendFile} ({@code file} non-null; {@code offset}/{@code length} in bytes).
 */
public record StaticReply(int status, MultiMap headers, Buffer body, String file, long offset, long length) {
    static StaticReply text(int status, String text) {
        MultiMap h = MultiMap.caseInsensitiveMultiMap().set("Content-Type", "text/plain; charset=utf-8");
        return new StaticReply(status, h, Buffer.buffer(text), null, 0, 0);
    }

    static StaticReply empty(int status, MultiMap headers) {
        return new StaticReply(status, headers, Buffer.buffer(), null, 0, 0);
    }
}
