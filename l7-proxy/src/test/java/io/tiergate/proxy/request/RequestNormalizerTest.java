package io.tiergate.proxy.request;

import io.tiergate.proxy.support.Proxies;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The normalizer's documented examples (docs/security.md), and the merge_slashes switch. */
class RequestNormalizerTest {

    static NormalizedTarget h1(String target, String... hosts) {
        return RequestNormalizer.normalize(new RequestHead("GET", RequestHead.Protocol.HTTP_1_1, false, target,
                List.of(hosts), null, null), true);
    }

    @Test
    void documentedExamples() {
        assertThat(PathNormalizer.normalize("/%69nternal", true)).isEqualTo("/internal");
        assertThat(PathNormalizer.normalize("/x/%2e%2e/internal", true)).isEqualTo("/internal");
        assertThat(PathNormalizer.normalize("/a%2fb%3a", true)).isEqualTo("/a%2Fb%3A");
        assertThat(PathNormalizer.normalize("/a/b/..", true)).isEqualTo("/a/");
        assertThat(h1("/a/./b?q=%2e&x=/../", "Public.Example.:8080").uri()).isEqualTo("/a/b?q=%2e&x=/../");
        assertThat(h1("/", "Public.Example.:8080").authority()).isEqualTo(new Authority("public.example", 8080));
        assertThat(h1("HTTP://Admin.Example/x", "public.example").routingHost()).isEqualTo("admin.example");
        assertThat(h1("/", "[::1]").authority().toString()).isEqualTo("[::1]");
    }

    @Test
    void mergeSlashesOffKeepsThemAndIsReadFromTheConfig() {
        assertThat(PathNormalizer.normalize("//a//b/../c", false)).isEqualTo("//a//c");
        assertThat(PathNormalizer.normalize("//a//b/../c", true)).isEqualTo("/a/c");
        String base = """
                listeners: [{address: 127.0.0.1:0}]
                upstreams: {app: {servers: [{address: 127.0.0.1:1}]}}
                servers: [{default: true, locations: [{prefix: /, upstream: app}]}]
                """;
        assertThat(Proxies.config(base).mergeSlashes()).as("on by default, as nginx").isTrue();
        assertThat(Proxies.config(base + "merge_slashes: false\n").mergeSlashes()).isFalse();
    }

    @Test
    void rejectionsSayWhatIsWrong() {
        assertThatThrownBy(() -> h1("/ok", "admin.example:8o")).isInstanceOf(BadRequest.class)
                .hasMessageContaining("port that is not a number");
        assertThatThrownBy(() -> h1("/ok")).hasMessageContaining("no Host header");
        assertThatThrownBy(() -> h1("/../x", "a")).hasMessageContaining("above the root");
        assertThatThrownBy(() -> RequestNormalizer.normalize(new RequestHead("CONNECT", RequestHead.Protocol.HTTP_1_1,
                false, "a:443", List.of("a"), null, null), true))
                .isInstanceOfSatisfying(BadRequest.class, e -> {
                    assertThat(e.status()).isEqualTo(405);
                    assertThat(e.allow()).doesNotContain("CONNECT");
                });
        assertThatThrownBy(() -> RequestNormalizer.normalize(new RequestHead("GET", RequestHead.Protocol.HTTP_2, true,
                "/", List.of(), "http", "a"), true)).hasMessageContaining("does not match the connection (https)");
    }
}
