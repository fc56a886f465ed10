package io.tiergate.proxy.cache;

import io.netty.util.AsciiString;
import io.vertx.core.MultiMap;
import io.vertx.core.buffer.Buffer;

import java.util.List;
import java.util.Map;

/**
 * One stored response (one Vary variant). Immutable by convention: the headers are a private copy that nobody
 * mutates after construction; a 304 produces a new instance.
 *
 * @param requestTime  when the request that produced it was sent upstream (RFC 9111 §4.2.3 request_time)
 * @param responseTime when the response was received (response_time)
 * @param varyNames    lower-case field names of the response's Vary
 * @param varyValues   the normalised values of those fields in the request that produced it ("" when absent)
 */
public record StoredResponse(int status, MultiMap headers, Buffer body, long requestTime, long responseTime,
                             List<String> varyNames, Map<String, String> varyValues, Memo memo) {

    public StoredResponse(int status, MultiMap headers, Buffer body, long requestTime, long responseTime,
                          List<String> varyNames, Map<String, String> varyValues) {
        this(status, headers, body, requestTime, responseTime, varyNames, varyValues, new Memo());
    }

    /**
     * What every hit would otherwise re-parse from the stored headers (directives, Date, freshness lifetime). The
     * headers never change after construction, so each value is computed once; a race computes it twice, same result.
     */
    static final class Memo {
        volatile Directives directives;
        volatile Boolean targeted;
        volatile long date = Long.MIN_VALUE;
        volatile CacheRule lifeRule;
        volatile long life;
        volatile AsciiString[] wire;

        @Override
        public boolean equals(Object o) {
            return o instanceof Memo;
        }

        @Override
        public int hashCode() {
            return 0;
        }
    }

    /**
     * The stored fields as name, value, name, value... in {@code AsciiString}s, made on the first hit: a header map
     * hashes such a name once (the hash is kept), and the response encoder copies its bytes instead of converting a
     * String char by char, which is most of what a hit's head costs. Field values arrive as ISO-8859-1 (one char per
     * byte), so the conversion loses nothing.
     */
    public AsciiString[] wireHeaders() {
        AsciiString[] w = memo.wire;
        if (w == null) {
            var entries = headers.entries();
            w = new AsciiString[entries.size() * 2];
            int i = 0;
            for (Map.Entry<String, String> e : entries) {
                w[i++] = new AsciiString(e.getKey());
                w[i++] = new AsciiString(e.getValue());
            }
            memo.wire = w;
        }
        return w;
    }

    /** Approximate heap cost, for the byte-bounded store: each field held as Strings and, once hit, as bytes. */
    public int weight() {
        int w = 256 + body.length();
        for (Map.Entry<String, String> e : headers.entries()) {
            w += 96 + 3 * (e.getKey().length() + e.getValue().length());
        }
        return w;
    }

    public String etag() {
        return headers.get("ETag");
    }

    public String lastModified() {
        return headers.get("Last-Modified");
    }
}
