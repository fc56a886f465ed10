package io.tiergate.proxy.route;

import io.tiergate.proxy.config.ProxyConfig;
import io.tiergate.shared.config.ConfigMap;
import io.tiergate.shared.config.Problems;
import io.tiergate.shared.config.YamlLoader;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

class RouteTableTest {
    static RouteTable table;

    @BeforeAll
    static void build() {
        String yaml = """
                listeners: [{name: web, address: 127.0.0.1:0}, {name: admin, address: 127.0.0.1:1}]
                upstreams:
                  a: {servers: [{address: 10.0.0.1:80}]}
                  b: {servers: [{address: 10.0.0.2:80}]}
                servers:
                  - server_names: [fallback.test]
                    locations: [{prefix: /, upstream: a}]
                  - server_names: [example.com, "*.example.com", "www.example.*", "~^api\\\\d+\\\\.test$"]
                    default: true
                    listeners: [web]
                    locations:
                      - {prefix: /, upstream: a}
                      - {exact: /, upstream: a}
                      - {prefix: /images/, upstream: a}
                      - {prefix: /images/big/, upstream: a}
                      - {prefix: /static/, stop_regex: true, upstream: a}
                      - {regex: '\\.(gif|jpg)$', upstream: b}
                      - {regex: '\\.JPG$', upstream: b}
                      - {regex: '^/images/.*\\.jpg$', upstream: b}
                  - server_names: [www.example.com, "*.sub.example.com"]
                    locations: [{prefix: /, upstream: b}]
                """;
        Problems problems = new Problems();
        ProxyConfig c = ProxyConfig.parse(ConfigMap.of(YamlLoader.parse("r.yaml", yaml), problems));
        assertThat(problems.format()).isEmpty();
        table = RouteTable.build(c);
    }

    static String loc(String host, String path) {
        Route r = table.route("web", host, path);
        return r == null ? null : r.location().label();
    }

    static String server(String listener, String host) {
        return table.route(listener, host, "/").host().config().serverNames().get(0);
    }

    @Test
    void exactBeatsPrefix() {
        assertThat(loc("example.com", "/")).as("'= /' wins over prefix '/' for exactly /").isEqualTo("= /");
        assertThat(loc("example.com", "/x")).as("anything else under / falls to the prefix").isEqualTo("/");
    }

    @Test
    void longestPrefixWinsWhenNoRegexMatches() {
        assertThat(loc("example.com", "/images/big/a.png")).isEqualTo("/images/big/");
        assertThat(loc("example.com", "/images/a.png")).isEqualTo("/images/");
    }

    @Test
    void regexesAreTriedInFileOrderAndBeatPrefixes() {
        assertThat(loc("example.com", "/images/big/a.jpg"))
                .as("the first regex in file order wins, even though a later one is more specific")
                .isEqualTo("~ \\.(gif|jpg)$");
        assertThat(loc("example.com", "/a.JPG")).as("regexes are case-sensitive unless told").isEqualTo("~ \\.JPG$");
    }

    @Test
    void stopRegexPrefixEndsTheSearch() {
        assertThat(loc("example.com", "/static/a.jpg")).as("^~ /static/ stops regex matching").isEqualTo("^~ /static/");
    }

    @Test
    void serverNamesFollowNginxPrecedence() {
        assertThat(server("web", "www.example.com")).as("an exact name beats the *.example.com wildcard")
                .isEqualTo("www.example.com");
        assertThat(server("web", "a.sub.example.com")).as("the longest leading wildcard wins")
                .isEqualTo("www.example.com");
        assertThat(server("web", "x.example.com")).isEqualTo("example.com");
        assertThat(server("web", "www.example.org")).as("trailing wildcard").isEqualTo("example.com");
        assertThat(server("web", "API7.test")).as("regex names, case-insensitive host").isEqualTo("example.com");
        assertThat(server("web", "Example.COM.:8080")).as("port, case and trailing dot are ignored")
                .isEqualTo("example.com");
        assertThat(server("web", "fallback.test")).isEqualTo("fallback.test");
    }

    @Test
    void unknownHostsGoToTheDefaultServerElseTheFirstOnThatListener() {
        assertThat(server("web", "nobody.test")).as("default: true on web").isEqualTo("example.com");
        assertThat(server("admin", "nobody.test"))
                .as("the example.com server is bound to 'web' only, so admin's first server answers")
                .isEqualTo("fallback.test");
        assertThat(server("web", null)).as("HTTP/1.0 without Host").isEqualTo("example.com");
    }
}
