package io.tiergate.shared.admin;

import io.tiergate.shared.config.ConfigMap;
import io.vertx.core.http.HttpServerRequest;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.Base64;
import java.util.Optional;

/**
 * Who may use the admin endpoint and over what: a bearer token (read from a file), HTTP basic auth (user and a
 * password read from a file), or both; whether reads need them too; and optional TLS. With neither token nor basic
 * auth configured the endpoint is open, which is why it binds to loopback by default.
 *
 * <p>Secrets come from files so they never sit in the config (which is often world-readable, or in git). The files
 * are read once at start and on reload; surrounding whitespace (a trailing newline) is ignored.
 *
 * @param token        the bearer token, when {@code token_file} is set
 * @param basicUser    the basic auth user, when {@code basic_auth} is set
 * @param basicPassword its password
 * @param protectReads GET requests need credentials too (except /healthz and /readyz, which probes use)
 * @param tls          serve HTTPS with this PEM certificate and key
 */
public record AdminAccess(Optional<String> token, Optional<String> basicUser, Optional<String> basicPassword,
                          boolean protectReads, Optional<Tls> tls) {

    /** No credentials, plain HTTP: the default (loopback only). */
    public static final AdminAccess OPEN = new AdminAccess(Optional.empty(), Optional.empty(), Optional.empty(),
            false, Optional.empty());

    public record Tls(Path cert, Path key) {
    }

    /** What a request carried, compared with what is configured. */
    public enum Verdict {
        /** Credentials are configured and the request's match. */
        AUTHENTICATED,
        /** No credentials are configured: everything is allowed (the endpoint is on loopback). */
        OPEN,
        /** No Authorization header (401). */
        MISSING,
        /** Wrong credentials (403). */
        WRONG
    }

    public boolean authConfigured() {
        return token.isPresent() || basicUser.isPresent();
    }

    public Verdict check(HttpServerRequest req) {
        return check(req.getHeader("Authorization"));
    }

    Verdict check(String authorization) {
        if (!authConfigured()) {
            return Verdict.OPEN;
        }
        if (authorization == null || authorization.isBlank()) {
            return Verdict.MISSING;
        }
        String a = authorization.trim();
        int sp = a.indexOf(' ');
        if (sp < 0) {
            return Verdict.WRONG;
        }
        String scheme = a.substring(0, sp);
        String value = a.substring(sp + 1).trim();
        if (scheme.equalsIgnoreCase("Bearer") && token.isPresent()) {
            return same(value, token.get()) ? Verdict.AUTHENTICATED : Verdict.WRONG;
        }
        if (scheme.equalsIgnoreCase("Basic") && basicUser.isPresent()) {
            String decoded;
            try {
                decoded = new String(Base64.getDecoder().decode(value), StandardCharsets.UTF_8);
            } catch (IllegalArgumentException e) {
                return Verdict.WRONG;
            }
            int colon = decoded.indexOf(':');
            if (colon < 0) {
                return Verdict.WRONG;
            }
            // Both halves compared every time: which one was wrong must not show in the timing.
            boolean user = same(decoded.substring(0, colon), basicUser.get());
            boolean pass = same(decoded.substring(colon + 1), basicPassword.orElse(""));
            return user & pass ? Verdict.AUTHENTICATED : Verdict.WRONG;
        }
        return Verdict.WRONG;
    }

    private static boolean same(String given, String expected) {
        return MessageDigest.isEqual(given.getBytes(StandardCharsets.UTF_8), expected.getBytes(StandardCharsets.UTF_8));
    }

    /**
     * Reads the {@code admin_auth:} and {@code admin_tls:} keys of a tier's section (director: or proxy:), recording
     * problems in the section. Unreadable or empty secret files are problems (a typo must not open the endpoint).
     */
    public static AdminAccess parse(ConfigMap section) {
        Optional<String> token = Optional.empty();
        Optional<String> user = Optional.empty();
        Optional<String> password = Optional.empty();
        boolean protectReads = false;
        Optional<ConfigMap> auth = section.map("admin_auth");
        if (auth.isPresent()) {
            ConfigMap a = auth.get();
            if (a.has("token_file")) {
                token = secret(a, "token_file", "a file holding the bearer token (e.g. from: openssl rand -hex 32 > FILE)");
            }
            Optional<ConfigMap> basic = a.map("basic_auth");
            if (basic.isPresent()) {
                ConfigMap b = basic.get();
                String u = b.requireString("user", "the user name for HTTP basic auth");
                Optional<String> p = b.has("password_file")
                        ? secret(b, "password_file", "a file holding the password")
                        : Optional.empty();
                if (!b.has("password_file")) {
                    b.error("password_file", "missing required key 'password_file'", "a file holding the password");
                }
                b.finish();
                if (u != null && u.contains(":")) {
                    b.error("user", "'" + u + "' contains ':'", "a user name without ':' (basic auth splits on it)");
                } else if (u != null && p.isPresent()) {
                    user = Optional.of(u);
                    password = p;
                }
            }
            protectReads = a.bool("protect_reads", false);
            if (protectReads && !a.has("token_file") && basic.isEmpty()) {
                a.error("protect_reads", "needs credentials", "token_file or basic_auth in admin_auth");
            }
            a.finish();
        }
        Optional<Tls> tls = Optional.empty();
        Optional<ConfigMap> t = section.map("admin_tls");
        if (t.isPresent()) {
            String cert = t.get().requireString("cert", "a PEM certificate (chain) file");
            String key = t.get().requireString("key", "the PEM private key file of that certificate");
            for (String[] f : new String[][] {{"cert", cert}, {"key", key}}) {
                if (f[1] != null && !Files.isReadable(Path.of(f[1]))) {
                    t.get().error(f[0], "cannot read " + f[1], "a readable PEM file");
                }
            }
            t.get().finish();
            if (cert != null && key != null) {
                tls = Optional.of(new Tls(Path.of(cert), Path.of(key)));
            }
        }
        return new AdminAccess(token, user, password, protectReads, tls);
    }

    private static Optional<String> secret(ConfigMap m, String key, String expected) {
        String file = m.requireString(key, expected);
        if (file == null) {
            return Optional.empty();
        }
        try {
            String s = Files.readString(Path.of(file), StandardCharsets.UTF_8).strip();
            if (s.isEmpty()) {
                m.error(key, file + " is empty", expected);
                return Optional.empty();
            }
            if (s.length() < 16 && key.equals("token_file")) {
                m.error(key, file + " holds a token of " + s.length() + " characters", "at least 16 (openssl rand -hex 32)");
                return Optional.empty();
            }
            return Optional.of(s);
        } catch (IOException | RuntimeException e) {
            m.error(key, "cannot read " + file + ": " + e.getMessage(), expected);
            return Optional.empty();
        }
    }

    @Override
    public String toString() {
        // Never the secrets: this record ends up in logs and config dumps.
        return "AdminAccess[token=" + token.isPresent() + ", basic=" + basicUser.orElse("-") + ", protectReads="
                + protectReads + ", tls=" + tls.isPresent() + "]";
    }
}
