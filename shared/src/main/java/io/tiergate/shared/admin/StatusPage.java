package io.tiergate.shared.admin;

import io.vertx.core.Handler;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServerRequest;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Pattern;

/**
 * The status page's static files, served from the jar (classpath folder {@code tiergate-ui/}: shared CSS and
 * script here, each tier's page in its own module): {@code /} is the tier's HTML page, {@code /ui/NAME} the other
 * files. No CDN, no build step: what is in the jar is what the browser gets. The Content-Security-Policy allows
 * only this origin's scripts and styles, so a server name or cache key that carries markup can never run.
 */
public final class StatusPage {
    private static final Pattern NAME = Pattern.compile("[a-z0-9][a-z0-9-]*\\.(css|js|html|svg)");
    private static final Map<String, String> TYPES = Map.of(
            "css", "text/css; charset=utf-8",
            "js", "text/javascript; charset=utf-8",
            "html", "text/html; charset=utf-8",
            "svg", "image/svg+xml");
    static final String CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
            + "connect-src 'self'; form-action 'none'; frame-ancestors 'none'; base-uri 'none'";

    private final String page;
    private final Map<String, Buffer> cache = new ConcurrentHashMap<>();

    private StatusPage(String page) {
        this.page = page;
    }

    /** Routes for AdminServer: {@code /} → {@code tiergate-ui/<page>}, {@code /ui/...} → the other files. */
    public static Map<String, Handler<HttpServerRequest>> routes(String page) {
        if (!NAME.matcher(page).matches()) {
            throw new IllegalArgumentException("page: " + page);
        }
        StatusPage p = new StatusPage(page);
        return Map.of("/", req -> p.serve(req, p.page), "/ui", req -> p.serve(req, req.path().startsWith("/ui/") ? req.path().substring(4) : ""));
    }

    private void serve(HttpServerRequest req, String name) {
        if (req.method() != HttpMethod.GET && req.method() != HttpMethod.HEAD) {
            req.response().setStatusCode(405).putHeader("Allow", "GET, HEAD").end("method not allowed\n");
            return;
        }
        Buffer body = NAME.matcher(name).matches() ? cache.computeIfAbsent(name, StatusPage::load) : null;
        if (body == null || body.length() == 0) {
            cache.remove(name);
            req.response().setStatusCode(404).putHeader("Content-Type", "text/plain; charset=utf-8").end("not found\n");
            return;
        }
        req.response()
                .putHeader("Content-Type", TYPES.get(name.substring(name.lastIndexOf('.') + 1)))
                .putHeader("Content-Security-Policy", CSP)
                .putHeader("X-Frame-Options", "DENY")
                .putHeader("Referrer-Policy", "no-referrer")
                .end(body);
    }

    private static Buffer load(String name) {
        try (InputStream in = StatusPage.class.getClassLoader().getResourceAsStream("tiergate-ui/" + name)) {
            return in == null ? Buffer.buffer() : Buffer.buffer(in.readAllBytes());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
