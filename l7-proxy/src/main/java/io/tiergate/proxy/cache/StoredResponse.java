package io.tiergate.proxy.cache;

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

        @Override
        public boolean equals(Object o) {
            return o instanceof Memo;
        }

        @Override
        public int hashCode() {
            return 0;
        }
    }

    /** Approximate heap cost, for the byte-bounded store. */
    public int weight() {
        int w = 256 + body.length();
        for (Map.Entry<String, String> e : headers.entries()) {
            w += 48 + 2 * (e.getKey().length() + e.getValue().length());
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
