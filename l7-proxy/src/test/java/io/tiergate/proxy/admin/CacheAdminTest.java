package io.tiergate.proxy.admin;

import io.tiergate.proxy.ProxyNode;
import io.tiergate.proxy.support.Origin;
import io.tiergate.proxy.support.Proxies;
import io.tiergate.shared.admin.AdminServer;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClientAgent;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.time.Duration;

import static org.assertj.core.api.Assertions.assertThat;

/** Purging through the real admin server (AdminServer + CacheAdmin) of a real ProxyNode, with a real client. */
@Timeout(30)
class CacheAdminTest {
    static Vertx vertx;
    static Origin origin;
    static ProxyNode proxy;
    static AdminServer admin;
    static int port;
    static HttpClientAgent client;

    @BeforeAll
    static void start() {
        vertx = io.tiergate.shared.runtime.Runtimes.vertx();
        client = vertx.createHttpClient();
        origin = Origin.start(vertx, "origin", (o, req, body) ->
                req.response().putHeader("Cache-Control", "max-age=600").end("v" + o.hits.get()));
        proxy = Proxies.start(vertx, """
                access_log: {format: off}
                listeners: [{address: 127.0.0.1:0}]
                upstreams: {app: {servers: [{address: %s}]}}
                servers: [{default: true, locations: [{prefix: /, upstream: app, cache: on}]}]
                """.formatted(origin.address()));
        port = proxy.listenPorts().get(0);
        admin = Origin.await(AdminServer.start(vertx, "127.0.0.1", 0, null, null,
                CacheAdmin.of(proxy::cache).routes()));
    }

    @AfterAll
    static void stop() {
        Origin.await(admin.close());
        Origin.await(proxy.shutdown(Duration.ofSeconds(1)));
        origin.close();
        Origin.await(vertx.close());
    }

    private static String cacheStatus(String uri) {
        return Proxies.get(client, port, uri).headers().get("Cache-Status");
    }

    private static Proxies.Reply purge(HttpMethod m, String uri, Buffer body, String... headers) {
        return Proxies.send(client, admin.port(), m, uri, body, headers);
    }

    @Test
    void purgingOneKeyMakesTheNextRequestAMiss() {
        cacheStatus("/k/one");
        assertThat(cacheStatus("/k/one")).contains("hit");
        Proxies.Reply r = purge(HttpMethod.POST, "/api/cache/purge?key=http://127.0.0.1/k/one", null);
        assertThat(r.status()).isEqualTo(200);
        assertThat(r.headers().get("Content-Type")).isEqualTo("application/json");
        assertThat(new JsonObject(r.body()).getInteger("purged")).isEqualTo(1);
        assertThat(cacheStatus("/k/one")).contains("fwd=uri-miss");
        Proxies.Reply again = purge(HttpMethod.DELETE, "/api/cache/purge?key=http://127.0.0.1/k/absent", null);
        assertThat(new JsonObject(again.body()).getInteger("purged")).as("an absent key").isZero();
    }

    @Test
    void purgingAPrefixCountsWhatWentAndKeepsTheRest() {
        for (String u : new String[] {"/p/a", "/p/b", "/p/c?x=1", "/q/keep"}) {
            cacheStatus(u);
        }
        Proxies.Reply r = purge(HttpMethod.DELETE, "/api/cache/purge?prefix=http://127.0.0.1/p/", null);
        assertThat(r.status()).isEqualTo(200);
        JsonObject j = new JsonObject(r.body());
        assertThat(j.getInteger("purged")).isEqualTo(3);
        assertThat(j.getString("prefix")).isEqualTo("http://127.0.0.1/p/");
        assertThat(cacheStatus("/p/a")).contains("fwd=uri-miss");
        assertThat(cacheStatus("/q/keep")).as("outside the prefix").contains("hit");
    }

    @Test
    void aFormBodyWorksToo() {
        cacheStatus("/f/x");
        Proxies.Reply r = purge(HttpMethod.POST, "/api/cache/purge", Buffer.buffer("key=http%3A%2F%2F127.0.0.1%2Ff%2Fx"),
                "Content-Type", "application/x-www-form-urlencoded");
        assertThat(new JsonObject(r.body()).getInteger("purged")).isEqualTo(1);
    }

    @Test
    void mistakesGetAPreciseStatusAndMessage() {
        Proxies.Reply get = Proxies.get(client, admin.port(), "/api/cache/purge?key=x");
        assertThat(get.status()).isEqualTo(405);
        assertThat(get.headers().get("Allow")).isEqualTo("POST, DELETE");
        Proxies.Reply none = purge(HttpMethod.POST, "/api/cache/purge", null);
        assertThat(none.status()).isEqualTo(400);
        assertThat(new JsonObject(none.body()).getString("error")).contains("exactly one key= or prefix=");
        assertThat(purge(HttpMethod.POST, "/api/cache/purge?key=a&prefix=b", null).status()).isEqualTo(400);
        Proxies.Reply empty = purge(HttpMethod.POST, "/api/cache/purge?prefix=", null);
        assertThat(empty.status()).isEqualTo(400);
        assertThat(new JsonObject(empty.body()).getString("error")).startsWith("prefix: empty");
        assertThat(purge(HttpMethod.POST, "/api/cache/other", null).status()).isEqualTo(404);
    }
}
