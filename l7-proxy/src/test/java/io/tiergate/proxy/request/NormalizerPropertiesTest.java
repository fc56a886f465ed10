package io.tiergate.proxy.request;

import io.tiergate.proxy.config.LocationConfig;
import io.tiergate.proxy.route.Route;
import io.tiergate.proxy.route.RouteTable;
import io.tiergate.proxy.support.Proxies;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Properties of the request normalizer under random input: it never fails with anything but a 400/405
 * {@link BadRequest}; its output is a fixed point; and a request it lets through is routed to the same location an
 * origin would resolve the forwarded path to — whether that origin decodes only unreserved escapes (RFC 3986) or
 * every escape including %2F and treats '\' as '/' (as many do).
 */
class NormalizerPropertiesTest {
    /** Fragments that make paths interesting: dots, slashes, escapes of both kinds, broken escapes, bad bytes. */
    private static final List<String> TOKENS = List.of("/", "/", "/", ".", "..", "%2e", "%2E", "%2f", "%2F", "%5c",
            "%5C", "internal", "private", "a", "b", "x", "y", "%69", "%49", "%61", "%70", "%", "%z", "%zz", "%00",
            "\\", "?", "q=1", " ", "#", "~", "%7e", "%7E", "-", "%41", "%25", "%252e", "%3F", "\u0001", "\u00e9", ";",
            "%20", "&", "=");

    private static final RouteTable ROUTES = RouteTable.build(Proxies.config("""
            listeners: [{name: l, address: 127.0.0.1:0}]
            upstreams: {app: {servers: [{address: 127.0.0.1:1}]}}
            servers:
              - default: true
                locations:
                  - {exact: /x/y, upstream: app}
                  - {prefix: /internal, upstream: app}
                  - {prefix: /a/b, upstream: app}
                  - {regex: '^/private/', upstream: app}
                  - {prefix: /, upstream: app}
            """));

    @Provide
    Arbitrary<String> targets() {
        Arbitrary<String> tokens = Arbitraries.of(TOKENS).list().ofMaxSize(14).map(l -> String.join("", l));
        Arbitrary<String> bytes = Arbitraries.strings().withCharRange('\u0000', '\u00ff').ofMaxLength(20);
        return Arbitraries.oneOf(tokens.map(t -> "/" + t), tokens, bytes.map(t -> "/" + t));
    }

    @Property(tries = 3000)
    void neverFailsWithAnythingButABadRequest(@ForAll("targets") String target, @ForAll boolean merge) {
        try {
            NormalizedTarget t = RequestNormalizer.normalize(head(target), merge);
            assertThat(t.path()).startsWith("/");
        } catch (BadRequest e) {
            assertThat(e.status()).isEqualTo(400);
            assertThat(e.getMessage()).isNotBlank();
        }
    }

    @Property(tries = 3000)
    void normalizedPathIsAFixedPoint(@ForAll("targets") String target, @ForAll boolean merge) {
        String path = target.indexOf('?') < 0 ? target : target.substring(0, target.indexOf('?'));
        String once;
        try {
            once = PathNormalizer.normalize(path, merge);
        } catch (BadRequest e) {
            return;
        }
        assertThat(PathNormalizer.normalize(once, merge)).as("normalizing '%s' twice", once).isEqualTo(once);
        for (char c : once.toCharArray()) {
            assertThat(c).as("only visible ASCII in '%s'", once).isBetween('!', '~');
        }
        assertThat(("/" + once + "/").split("/")).as("no dot segment left in '%s'", once)
                .doesNotContain(".", "..");
        if (merge) {
            assertThat(once).doesNotContain("//");
        }
        for (int i = once.indexOf('%'); i >= 0; i = once.indexOf('%', i + 1)) {
            int b = Integer.parseInt(once.substring(i + 1, i + 3), 16);
            assertThat(PathNormalizer.unreserved(b)).as("an unreserved escape left encoded in '%s'", once).isFalse();
        }
    }

    @Property(tries = 5000)
    void routedLocationIsTheOneTheOriginResolves(@ForAll("targets") String target) {
        NormalizedTarget t;
        Route routed;
        try {
            t = RequestNormalizer.normalize(head(target), true);
            routed = ROUTES.route("l", t);
        } catch (BadRequest e) {
            return; // refused: nothing is forwarded
        }
        String forwarded = t.path(); // the request line sent upstream is t.uri(): this path plus the query as is
        LocationConfig strict = ROUTES.route("l", "", resolveLikeOrigin(forwarded, false)).location();
        LocationConfig lax = ROUTES.route("l", "", resolveLikeOrigin(forwarded, true)).location();
        assertThat(strict).as("an RFC 3986 origin resolves '%s' (from '%s') in another location", forwarded, target)
                .isSameAs(routed.location());
        assertThat(lax).as("a %%2F-decoding origin resolves '%s' (from '%s') in another location", forwarded, target)
                .isSameAs(routed.location());
    }

    /**
     * An origin's view of a forwarded path, written independently of the normalizer: decode (unreserved escapes
     * only, or every escape with '\' and %5C as '/'), then RFC 3986 §5.2.4 with '..' above the root clamped, and
     * repeated slashes merged.
     */
    static String resolveLikeOrigin(String path, boolean decodeAll) {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        for (int i = 0; i < path.length(); i++) {
            char c = path.charAt(i);
            if (c == '%' && i + 2 < path.length()) {
                int v = Integer.parseInt(path.substring(i + 1, i + 3), 16);
                boolean decode = decodeAll || Character.isLetterOrDigit(v) || "-._~".indexOf(v) >= 0;
                if (decode) {
                    b.write(v == '\\' ? '/' : v);
                    i += 2;
                    continue;
                }
            }
            b.write(decodeAll && c == '\\' ? '/' : c);
        }
        String decoded = b.toString(StandardCharsets.ISO_8859_1);
        List<String> out = new ArrayList<>();
        for (String seg : decoded.split("/+")) {
            if (seg.equals("..")) {
                if (!out.isEmpty()) {
                    out.remove(out.size() - 1);
                }
            } else if (!seg.isEmpty() && !seg.equals(".")) {
                out.add(seg);
            }
        }
        boolean dir = decoded.endsWith("/") || decoded.endsWith("/.") || decoded.endsWith("/..");
        String p = "/" + String.join("/", out);
        return dir && !p.equals("/") ? p + "/" : p;
    }

    private static RequestHead head(String target) {
        return new RequestHead("GET", RequestHead.Protocol.HTTP_1_1, false, target, List.of("public.example"), null,
                null);
    }
}
