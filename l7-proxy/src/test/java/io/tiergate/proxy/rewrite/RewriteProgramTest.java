package io.tiergate.proxy.rewrite;

import io.tiergate.shared.config.ConfigMap;
import io.tiergate.shared.config.Problems;
import io.tiergate.shared.config.YamlLoader;
import io.vertx.core.MultiMap;
import org.junit.jupiter.api.Test;

import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

class RewriteProgramTest {
    private static RewriteProgram program(String yaml) {
        Problems problems = new Problems();
        ConfigMap m = ConfigMap.of(YamlLoader.parse("t.yaml", yaml), problems);
        RewriteProgram p = RewriteProgram.parse(m);
        m.finish();
        assertThat(problems.format()).as("config problems").isEmpty();
        return p;
    }

    private static Problems problems(String yaml) {
        Problems problems = new Problems();
        RewriteProgram.parse(ConfigMap.of(YamlLoader.parse("t.yaml", yaml), problems));
        return problems;
    }

    private static RequestContext req(String uri) {
        MultiMap h = MultiMap.caseInsensitiveMultiMap().add("User-Agent", "curl/8");
        return new RequestContext("GET", "https", "shop.example", uri, "192.0.2.7", h, "req-42");
    }

    @Test
    void noFlagContinuesWithTheNextRule() {
        RewriteProgram p = program("rewrite: ['^/a/(.*)$ /b/$1', '^/b/(.*)$ /c/$1']\n");
        assertThat(p.run(req("/a/x"))).isEqualTo(new RewriteResult.Continue("/c/x", false));
    }

    @Test
    void breakStopsProcessing() {
        RewriteProgram p = program("rewrite: ['^/a/(.*)$ /b/$1 break', '^/b/(.*)$ /c/$1']\n");
        assertThat(p.run(req("/a/x"))).isEqualTo(new RewriteResult.Continue("/b/x", false));
    }

    @Test
    void lastAsksForReroutingWithTheNewUri() {
        RewriteProgram p = program("rewrite: ['^/old/(\\d+)$ /items/$1 last', '^/items/ /never']\n");
        assertThat(p.run(req("/old/7"))).isEqualTo(new RewriteResult.Continue("/items/7", true));
    }

    @Test
    void redirectAndPermanentAnswer302And301WithArgsKept() {
        assertThat(program("rewrite: '^/r$ /target redirect'\n").run(req("/r?a=1")))
                .isEqualTo(new RewriteResult.Redirect(302, "/target?a=1"));
        assertThat(program("rewrite: '^/p$ https://$host/new permanent'\n").run(req("/p")))
                .isEqualTo(new RewriteResult.Redirect(301, "https://shop.example/new"));
        assertThat(program("rewrite: '^/abs$ https://other.example/'\n").run(req("/abs")))
                .as("an absolute replacement redirects").isEqualTo(new RewriteResult.Redirect(302, "https://other.example/"));
    }

    @Test
    void argsAreAppendedUnlessTheReplacementEndsWithQuestionMark() {
        assertThat(program("rewrite: '^/s$ /search?q=x'\n").run(req("/s?page=2")))
                .isEqualTo(new RewriteResult.Continue("/search?q=x&page=2", false));
        assertThat(program("rewrite: '^/s$ /search?'\n").run(req("/s?page=2")))
                .isEqualTo(new RewriteResult.Continue("/search", false));
    }

    @Test
    void returnWithUrlTextOrNothing() {
        assertThat(program("return: '301 https://$host$request_uri'\n").run(req("/x?y=1")))
                .isEqualTo(new RewriteResult.Redirect(301, "https://shop.example/x?y=1"));
        assertThat(program("return: '200 hello $remote_addr from $http_user_agent ($request_id)'\n").run(req("/")))
                .isEqualTo(new RewriteResult.Return(200, "hello 192.0.2.7 from curl/8 (req-42)"));
        assertThat(program("return: '404'\n").run(req("/"))).isEqualTo(new RewriteResult.Return(404, ""));
    }

    @Test
    void aMatchingRewriteWithBreakSkipsTheReturn() {
        RewriteProgram p = program("rewrite: '^/keep$ /kept break'\nreturn: '403 no'\n");
        assertThat(p.run(req("/keep"))).isEqualTo(new RewriteResult.Continue("/kept", false));
        assertThat(p.run(req("/other"))).isEqualTo(new RewriteResult.Return(403, "no"));
    }

    @Test
    void prefixStripAndAdd() {
        assertThat(program("strip_prefix: /api\nadd_prefix: /v2\n").run(req("/api/users?id=1")))
                .isEqualTo(new RewriteResult.Continue("/v2/users?id=1", false));
        assertThat(program("strip_prefix: /api\n").run(req("/api")))
                .isEqualTo(new RewriteResult.Continue("/", false));
    }

    @Test
    void theLoopStopsAfterTenPassesWith500() {
        RewriteProgram loop = program("rewrite: '^/(.*)$ /$1x last'\n");
        int[] passes = {0};
        RewriteResult r = RewriteProgram.resolve(req("/a"), uri -> {
            passes[0]++;
            return loop;
        });
        assertThat(r).isEqualTo(new RewriteResult.Return(500, ""));
        assertThat(passes[0]).isEqualTo(RewriteProgram.MAX_PASSES);
    }

    @Test
    void resolveFollowsLastIntoTheNextLocation() {
        RewriteProgram first = program("rewrite: '^/old/(.*)$ /new/$1 last'\n");
        RewriteProgram second = program("rewrite: '^/new/(.*)$ /final/$1 break'\n");
        RewriteResult r = RewriteProgram.resolve(req("/old/z"), uri -> uri.startsWith("/old") ? first : second);
        assertThat(r).isEqualTo(new RewriteResult.Continue("/final/z", false));
    }

    @Test
    void configMistakesAreReportedPrecisely() {
        assertThat(problems("rewrite: '^/(x /y'\n").format()).contains("bad regex '^/(x'");
        assertThat(problems("rewrite: '^/x /y jump'\n").format()).contains("unknown flag 'jump'");
        assertThat(problems("rewrite: '^/x /$nope'\n").format()).contains("unknown variable $nope");
        assertThat(problems("return: '301'\n").format()).contains("redirect 301 without a URL");
        assertThat(problems("return: 'abc'\n").format()).contains("'abc' is not a status code");
    }

    @Test
    void headerRulesRemoveSetAndAddWithVariables() {
        Problems problems = new Problems();
        ConfigMap m = ConfigMap.of(YamlLoader.parse("t.yaml",
                "remove: [Server]\nset: {X-Real-IP: $remote_addr, X-Req: $request_id}\nadd: {Via: 1.1 tiergate}\n"),
                problems);
        HeaderRules rules = HeaderRules.parse(m);
        assertThat(problems.isEmpty()).isTrue();
        MultiMap h = MultiMap.caseInsensitiveMultiMap().add("Server", "x").add("Via", "1.0 a");
        rules.apply(h, req("/"));
        assertThat(h.contains("Server")).isFalse();
        assertThat(h.get("X-Real-IP")).isEqualTo("192.0.2.7");
        assertThat(h.get("X-Req")).isEqualTo("req-42");
        assertThat(h.getAll("Via")).containsExactly("1.0 a", "1.1 tiergate");
        assertThat(Map.of()).isEmpty();
    }
}
