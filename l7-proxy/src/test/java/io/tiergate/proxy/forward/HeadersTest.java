package io.tiergate.proxy.forward;

import io.vertx.core.MultiMap;
import io.vertx.core.http.impl.headers.Http1xHeaders;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

/** The header rules the wire tests (HygieneTest, HostileRequestTest) reach only through the common shapes. */
class HeadersTest {

    @Test
    void fieldsNamedByConnectionAreDroppedWhateverTheSpacingCaseAndRepetition() {
        MultiMap in = Http1xHeaders.httpHeaders()
                .add("Connection", " \tX-A ,keep-alive,,  ,X-B\t")
                .add("Connection", "CLOSE, x-c")
                .add("X-A", "1").add("x-b", "2").add("X-C", "3")
                .add("X-Keep", "4").add("Keep-Alive", "timeout=5").add("Close", "not a hop-by-hop field");
        MultiMap out = Http1xHeaders.httpHeaders();
        Headers.copyEndToEnd(in, out);
        assertThat(out.names()).containsExactlyInAnyOrder("X-Keep", "Close");
    }

    @Test
    void withoutConnectionEveryEndToEndFieldGoesThrough() {
        MultiMap in = Http1xHeaders.httpHeaders().add("X-A", "1").add("Upgrade", "h2c").add("TE", "trailers");
        MultiMap out = Http1xHeaders.httpHeaders();
        Headers.copyEndToEnd(in, out);
        assertThat(out.names()).containsExactly("X-A");
    }

    @Test
    void statusTextAndTheViaEntryAreTheValuesNotJustCached() {
        assertThat(Headers.statusText(200)).isEqualTo("200");
        assertThat(Headers.statusText(599)).isEqualTo("599");
        assertThat(Headers.statusText(99)).isEqualTo("99");
        assertThat(Headers.statusText(600)).isEqualTo("600");
        MultiMap h = Http1xHeaders.httpHeaders();
        Headers.appendVia(h, "1.1", "node-a");
        Headers.appendVia(h, "2", "node-a");
        assertThat(h.get("Via")).isEqualTo("1.1 node-a, 2 node-a");
        MultiMap other = Http1xHeaders.httpHeaders();
        Headers.appendVia(other, "1.1", new String("node-b")); // a reloaded config's name: another object
        assertThat(other.get("Via")).isEqualTo("1.1 node-b");
    }
}
