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

    @Test
    void theForwardedElementIsTheTextWhateverItIsBuiltAs() {
        assertThat(Headers.forwardedElement("192.0.2.7", "https", "shop.example").toString())
                .isEqualTo("for=192.0.2.7;proto=https;host=shop.example");
        assertThat(Headers.forwardedElement("192.0.2.7", "https", "shop.example:8443").toString())
                .as("a port's ':' is not a token character: quoted (RFC 7239 §4)")
                .isEqualTo("for=192.0.2.7;proto=https;host=\"shop.example:8443\"");
        assertThat(Headers.forwardedElement(Headers.forwardedNode("2001:db8::1"), "http", null).toString())
                .isEqualTo("for=\"[2001:db8::1]\";proto=http");
        assertThat(Headers.forwardedElement("192.0.2.7", "http", "a\"b:1").toString())
                .as("a quote inside is dropped, never an unbalanced one sent").isEqualTo("for=192.0.2.7;proto=http;host=\"ab:1\"");
        assertThat(Headers.forwardedElement("192.0.2.7", "http", "").toString()).endsWith(";host=\"\"");
        // Beyond Latin-1 (no normalized authority has it) the text is still exact, never truncated to a byte.
        assertThat(Headers.forwardedElement("192.0.2.7", "http", "b\u00fccher.example\u2603").toString())
                .isEqualTo("for=192.0.2.7;proto=http;host=\"b\u00fccher.example\u2603\"");
    }

    @Test
    void headerValuesAreEveryValueInOrderWhicheverCaseTheNameHas() {
        MultiMap h = Http1xHeaders.httpHeaders().add("Host", "a").add("X-Other", "x").add("host", "b").add("HOST", "c");
        assertThat(io.tiergate.proxy.request.HeaderValues.of(h, "host")).containsExactly("a", "b", "c");
        assertThat(io.tiergate.proxy.request.HeaderValues.of(h, "X-OTHER")).containsExactly("x");
        assertThat(io.tiergate.proxy.request.HeaderValues.of(h, "Absent")).isEmpty();
        MultiMap plain = MultiMap.caseInsensitiveMultiMap().add("Via", "1").add("via", "2");
        assertThat(io.tiergate.proxy.request.HeaderValues.of(plain, "VIA")).containsExactly("1", "2");
    }
}
