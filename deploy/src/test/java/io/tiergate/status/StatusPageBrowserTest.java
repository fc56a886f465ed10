package io.tiergate.status;

import io.tiergate.cli.TiergateConfig;
import io.tiergate.director.Director;
import io.tiergate.director.config.DirectorConfig;
import io.tiergate.director.dataplane.userspace.UserspaceDataplane;
import io.tiergate.director.ha.VrrpConfig;
import io.tiergate.proxy.ProxyNode;
import io.tiergate.proxy.config.ProxyConfig;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.openqa.selenium.By;
import org.openqa.selenium.WebElement;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The status pages in a real browser (Debian's headless chromium): each tier running in-process on loopback (the
 * director on the userspace dataplane, no root), real servers / upstream servers as real HTTP servers. For each page:
 * it loads with no console error and lists the servers; without the token the actions are disabled and the API
 * refuses them (401 without credentials, 403 with wrong ones); with the token a drain shows on the page; a killed
 * server shows as down — both without the page being reloaded (a marker set in the document survives). Screenshots
 * go to target/status-screenshots/.
 */
@Timeout(180)
class StatusPageBrowserTest {
    static final Duration UPDATE_WAIT = Duration.ofSeconds(10); // the page polls every 1 s; generous for a loaded CI box
    static final Duration START_WAIT = Duration.ofSeconds(30); // first probes, first page load, under load
    static final Path SHOTS = Path.of("target", "status-screenshots");
    static final String TOKEN = "s3cret-token-for-the-browser-test";

    static BrowserSession browser;
    static Vertx vertx;

    @TempDir
    Path dir;
    final List<HttpServer> backends = new ArrayList<>();
    final List<Long> timers = new ArrayList<>();

    @BeforeAll
    static void open() throws Exception {
        var why = BrowserSession.unavailable();
        if (why.isPresent()) {
            System.out.println(why.get());
        }
        Assumptions.assumeTrue(why.isEmpty(), () -> why.get());
        vertx = Vertx.vertx();
        browser = BrowserSession.open(1280, 1000);
    }

    @AfterAll
    static void close() throws Exception {
        if (browser != null) {
            browser.close();
        }
        if (vertx != null) {
            vertx.close().await(10, TimeUnit.SECONDS);
        }
    }

    @BeforeEach
    void fresh() {
        browser.driver.get("about:blank");
        browser.consoleErrors();
    }

    @AfterEach
    void stopBackends() throws Exception {
        timers.forEach(vertx::cancelTimer);
        for (HttpServer s : backends) {
            s.close().await(5, TimeUnit.SECONDS);
        }
    }

    private HttpServer backend(String name) throws Exception {
        HttpServer s = Tiers.backend(vertx, name);
        backends.add(s);
        return s;
    }

    /** A request every 100 ms until the test ends, so counters, rates and sparklines move. */
    private void trafficTo(String url) {
        long timer = vertx.setPeriodic(100, id -> vertx.executeBlocking(() -> {
            try {
                return get(url);
            } catch (Exception e) {
                return -1; // a killed server's connection refused: part of the test
            }
        }, false));
        timers.add(timer);
    }

    private Path tokenFile() throws Exception {
        Path f = dir.resolve("admin.token");
        Files.writeString(f, TOKEN + "\n");
        return f;
    }

    private static int get(String url) throws Exception {
        return Tiers.get(url).statusCode();
    }

    private static String getBody(String url) throws Exception {
        return Tiers.get(url).body();
    }

    /** The status code of a POST made by the page's own script (same origin, as a user's click would). */
    private long postFromPage(String path, String authorization) {
        Object status = browser.driver.executeAsyncScript(
                "const done = arguments[arguments.length - 1];"
                        + "const h = arguments[1] ? {Authorization: arguments[1]} : {};"
                        + "fetch(arguments[0], {method: 'POST', headers: h}).then(r => done(r.status), e => done(-1));",
                path, authorization);
        return ((Number) status).longValue();
    }

    /** The text of the first element matching {@code css}, looked up again if a rebuild replaced it meanwhile. */
    private String textOf(String css) throws Exception {
        java.util.concurrent.atomic.AtomicReference<String> text = new java.util.concurrent.atomic.AtomicReference<>();
        browser.await("text of " + css, UPDATE_WAIT, () -> {
            text.set(browser.driver.findElement(By.cssSelector(css)).getText());
            return true;
        });
        return text.get();
    }

    private String rowAttr(String rowSelector, String attr) {
        List<WebElement> rows = browser.driver.findElements(By.cssSelector(rowSelector));
        return rows.isEmpty() ? null : rows.get(0).getAttribute(attr);
    }

    private void markDocument() {
        browser.js("document.body.dataset.probe = 'same-document';");
    }

    private void assertSameDocument() {
        assertThat(browser.js("return document.body.dataset.probe;"))
                .as("the page updated in place, without a reload or navigation").isEqualTo("same-document");
    }

    private void enterToken(String token, String expectedState) throws Exception {
        var field = browser.driver.findElement(By.id("auth-token"));
        field.clear();
        field.sendKeys(token);
        browser.driver.findElement(By.id("auth-save")).click();
        browser.await("the page says: " + expectedState, UPDATE_WAIT,
                () -> browser.driver.findElement(By.id("auth-state")).getText().startsWith(expectedState));
    }

    /** On a phone-sized viewport the page needs no sideways scrolling (wide tables scroll inside their card). */
    private void assertFitsAPhone(String name) throws Exception {
        browser.driver.manage().window().setSize(new org.openqa.selenium.Dimension(390, 844));
        try {
            browser.await("the viewport is phone-sized", UPDATE_WAIT,
                    () -> ((Number) browser.js("return window.innerWidth;")).intValue() <= 500);
            Thread.sleep(1500); // one more poll, laid out at this width
            long page = ((Number) browser.js("return document.documentElement.scrollWidth;")).longValue();
            long viewport = ((Number) browser.js("return window.innerWidth;")).longValue();
            assertThat(page).as("page width at a " + viewport + " px viewport").isLessThanOrEqualTo(viewport);
            browser.screenshot(SHOTS.resolve(name + "-phone.png"));
        } finally {
            browser.driver.manage().window().setSize(new org.openqa.selenium.Dimension(1280, 1000));
        }
    }

    /** Clicks the action button of a row and accepts the confirm dialog; the row is rebuilt every second, so a
     * button found just before a rebuild is looked up again. */
    private void clickAndConfirm(String buttonSelector) throws Exception {
        browser.await("a click on " + buttonSelector, UPDATE_WAIT, () -> {
            try {
                browser.driver.findElement(By.cssSelector(buttonSelector)).click();
                return true;
            } catch (org.openqa.selenium.StaleElementReferenceException e) {
                return false;
            }
        });
        browser.await("the confirm dialog", UPDATE_WAIT, () -> {
            browser.driver.switchTo().alert().accept();
            return true;
        });
    }

    @Test
    void directorPageShowsRealServersRefusesWithoutTokenAndFollowsDrainAndHealth() throws Exception {
        HttpServer a = backend("rs-a");
        HttpServer b = backend("rs-b");
        int vipPort = Tiers.freePort();
        Path cfg = dir.resolve("director.yaml");
        Files.writeString(cfg, """
                director:
                  dataplane: userspace
                  admin: 127.0.0.1:0
                  admin_auth: {token_file: %s}
                  services:
                    web:
                      vip: 127.0.0.1:%d
                      protocol: tcp
                      scheduler: rr
                      method: nat
                      health: {type: http, path: /healthz, interval: 500ms, timeout: 500ms, rise: 1, fall: 2}
                      real_servers: [127.0.0.1:%d, 127.0.0.1:%d]
                """.formatted(tokenFile(), vipPort, a.actualPort(), b.actualPort()));
        DirectorConfig config = TiergateConfig.load(cfg).director().orElseThrow()
                .withVrrp(Optional.of(VrrpConfig.of("lo", 51, 150, Duration.ofSeconds(1), List.of("127.0.0.1/32"))));
        String rsA = "127.0.0.1:" + a.actualPort();
        String rsB = "127.0.0.1:" + b.actualPort();
        try (Director director = Director.start(vertx, config,
                () -> new UserspaceDataplane(vertx, config.connectTimeout(), config.udpIdleTimeout()),
                "configured (dataplane: userspace)", Tiers.StandInVrrp::new)) {
            String base = "http://127.0.0.1:" + director.adminPort();
            browser.await("the VIP forwards", START_WAIT, () -> {
                try {
                    return Tiers.getOnNewConnection(vipPort, "/hello") == 200;
                } catch (Exception e) {
                    return false; // no real server is up before the first probes come back
                }
            });
            long timer = vertx.setPeriodic(100, id -> vertx.executeBlocking(() -> {
                try {
                    return Tiers.getOnNewConnection(vipPort, "/page"); // new connections for the conn/s sparkline
                } catch (Exception e) {
                    return -1; // the killed real server: part of the test
                }
            }, false));
            timers.add(timer);
            browser.driver.get(base + "/");
            browser.await("both real servers listed as up", START_WAIT, () ->
                    "up".equals(rowAttr("tr[data-rs='" + rsA + "']", "data-health"))
                            && "up".equals(rowAttr("tr[data-rs='" + rsB + "']", "data-health")));
            assertThat(textOf("[data-service='web'] h3"))
                    .contains("web").contains("127.0.0.1:" + vipPort);
            assertThat(textOf("#dataplane")).contains("userspace");
            assertThat(textOf("#ha")).contains("MASTER").contains("51 on lo").contains("multicast 224.0.0.18")
                    .contains("127.0.0.1/32");
            browser.await("the VRRP role change is in the event list", UPDATE_WAIT, () ->
                    browser.driver.findElement(By.id("events")).getText().contains("VRRP vrid 51: INIT -> MASTER"));
            assertThat(browser.consoleErrors()).as("browser console errors").isEmpty();
            markDocument();

            // Without the token: the page offers no action, and the API refuses one made anyway.
            browser.await("the drain button is disabled without the token", UPDATE_WAIT, () ->
                    !browser.driver.findElement(By.cssSelector("tr[data-rs='" + rsA + "'] button.act")).isEnabled());
            String drainPath = "/api/services/web/real-servers/" + rsA + "/drain";
            assertThat(postFromPage(drainPath, null)).isEqualTo(401);
            assertThat(postFromPage(drainPath, "Bearer wrong-token")).isEqualTo(403);
            assertThat(getBody(base + "/api/status")).contains("\"drained\" : false").doesNotContain("\"drained\" : true");

            // A wrong token is refused and changes nothing; with the right one, drain from the page and see it.
            enterToken("not-the-token-0123456789", "these credentials were refused");
            browser.await("the page shows the refusal where the services were", UPDATE_WAIT, () ->
                    browser.driver.findElement(By.id("services")).getText().contains("403"));
            assertThat(getBody(base + "/api/status")).doesNotContain("\"drained\" : true");
            enterToken(TOKEN, "authenticated");
            clickAndConfirm("tr[data-rs='" + rsA + "'] button.act");
            Duration drained = browser.await("the drain shows", UPDATE_WAIT,
                    () -> "true".equals(rowAttr("tr[data-rs='" + rsA + "']", "data-drained")));
            assertThat(getBody(base + "/api/status")).contains("\"drained\" : true");
            Thread.sleep(5000); // traffic on the remaining server fills the sparklines for the screenshot
            browser.screenshot(SHOTS.resolve("director.png"));

            // A real server dies: the page shows it down.
            b.close().await(5, TimeUnit.SECONDS);
            Duration down = browser.await("the killed real server shows as down", UPDATE_WAIT,
                    () -> "down".equals(rowAttr("tr[data-rs='" + rsB + "']", "data-health")));
            assertSameDocument();
            browser.await("the health flip is in the event list", UPDATE_WAIT, () ->
                    browser.driver.findElement(By.id("events")).getText().contains(rsB + " is DOWN"));
            System.out.println("director page: drain shown after " + drained.toMillis() + " ms, real server down shown after "
                    + down.toMillis() + " ms (health check interval 500 ms, fall 2)");
            browser.screenshot(SHOTS.resolve("director-after-failure.png"));
            assertFitsAPhone("director");
        }
    }

    @Test
    void proxyPageShowsUpstreamsRefusesWithoutTokenAndFollowsDrainAndHealth() throws Exception {
        HttpServer a = backend("origin-a");
        HttpServer b = backend("origin-b");
        Path cfg = dir.resolve("proxy.yaml");
        Files.writeString(cfg, """
                proxy:
                  node_name: browser-test
                  access_log: {format: off}
                  admin: 127.0.0.1:0
                  admin_auth: {token_file: %s}
                  listeners: [{address: 127.0.0.1:0}]
                  upstreams:
                    app:
                      health: {type: http, path: /healthz, interval: 500ms, timeout: 500ms, rise: 1, fall: 2}
                      servers: [127.0.0.1:%d, 127.0.0.1:%d]
                  servers:
                    - server_names: [localhost]
                      default: true
                      locations:
                        - {prefix: /static/, upstream: app, cache: on}
                        - {prefix: /, upstream: app}
                """.formatted(tokenFile(), a.actualPort(), b.actualPort()));
        ProxyConfig config = TiergateConfig.load(cfg).proxy().orElseThrow();
        String srvA = "127.0.0.1:" + a.actualPort();
        String srvB = "127.0.0.1:" + b.actualPort();
        try (Tiers.Proxy proxy = Tiers.Proxy.start(vertx, config)) {
            ProxyNode node = proxy.node();
            String site = proxy.site();
            for (int i = 0; i < 20; i++) {
                get(site + "/static/app.css");
                get(site + "/api/" + i);
            }
            String base = proxy.adminBase();
            trafficTo(site + "/static/app.css");
            trafficTo(site + "/page");
            browser.driver.get(base + "/");
            browser.await("both upstream servers listed as up", START_WAIT, () ->
                    "up".equals(rowAttr("tr[data-server='" + srvA + "']", "data-health"))
                            && "up".equals(rowAttr("tr[data-server='" + srvB + "']", "data-health")));
            String cacheText = textOf("#cache");
            assertThat(cacheText).contains("/static/app.css").contains("hit ratio");
            assertThat(textOf("#listeners")).contains("127.0.0.1:" + node.listenPorts().get(0));
            assertThat(browser.consoleErrors()).as("browser console errors").isEmpty();
            markDocument();

            browser.await("the drain button is disabled without the token", UPDATE_WAIT, () ->
                    !browser.driver.findElement(By.cssSelector("tr[data-server='" + srvA + "'] button.act")).isEnabled());
            assertThat(browser.driver.findElement(By.id("purge-button")).isEnabled()).isFalse();
            String drainPath = "/api/upstreams/app/servers/" + srvA + "/drain";
            assertThat(postFromPage(drainPath, null)).isEqualTo(401);
            assertThat(postFromPage(drainPath, "Bearer wrong-token")).isEqualTo(403);
            assertThat(postFromPage("/api/cache/purge?key=x", null)).isEqualTo(401);
            assertThat(node.upstream("app").peer(srvA).drained()).isFalse();

            enterToken(TOKEN, "authenticated");
            clickAndConfirm("tr[data-server='" + srvA + "'] button.act");
            Duration drained = browser.await("the drain shows", UPDATE_WAIT,
                    () -> "drained".equals(rowAttr("tr[data-server='" + srvA + "']", "data-health")));
            assertThat(node.upstream("app").peer(srvA).drained()).isTrue();
            for (int i = 0; i < 5; i++) {
                assertThat(getBody(site + "/after-drain")).startsWith("origin-b"); // a drained server gets nothing new
            }
            Thread.sleep(5000);
            browser.screenshot(SHOTS.resolve("proxy.png"));

            // Purge the hottest key from the page (the token is set now).
            String hot = textOf("#cache tbody tr td");
            assertThat(hot).isEqualTo("http://127.0.0.1/static/app.css");
            browser.driver.findElement(By.id("purge-key")).sendKeys(hot);
            browser.driver.findElement(By.id("purge-button")).click();
            browser.await("the purge is reported", UPDATE_WAIT,
                    () -> browser.driver.findElement(By.id("action-msg")).getText().equals("purged 1 key(s)"));

            b.close().await(5, TimeUnit.SECONDS);
            Duration down = browser.await("the killed upstream server shows as down", UPDATE_WAIT,
                    () -> "down".equals(rowAttr("tr[data-server='" + srvB + "']", "data-health")));
            assertSameDocument();
            System.out.println("proxy page: drain shown after " + drained.toMillis() + " ms, upstream down shown after "
                    + down.toMillis() + " ms (health check interval 500 ms, fall 2)");
            browser.screenshot(SHOTS.resolve("proxy-after-failure.png"));
            assertFitsAPhone("proxy");
        }
    }
}
