package io.tiergate.cli;

import io.tiergate.shared.admin.AdminAccess;
import io.tiergate.shared.config.HostPort;

import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;
import java.io.IOException;
import java.io.InputStream;
import java.net.ConnectException;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.time.Duration;
import java.util.Base64;
import java.util.Optional;

/**
 * A running tier's admin API as the CLI reaches it: address, credentials and TLS. Credentials come from
 * {@code --token-file}, else {@code $TIERGATE_ADMIN_TOKEN}, else the config's {@code admin_auth} (the same files the
 * server reads: running the CLI with {@code -c} on the host just works). HTTPS when the config has {@code admin_tls}
 * (the server's own certificate is then the one trusted) or {@code --cacert} is given.
 */
final class AdminEndpoint {
    static final String TOKEN_ENV = "TIERGATE_ADMIN_TOKEN";

    /** The credential options every command that talks to an admin API takes (a picocli mixin). */
    static final class Options {
        @picocli.CommandLine.Option(names = "--token-file", paramLabel = "FILE",
                description = "Bearer token for the admin API (default: $TIERGATE_ADMIN_TOKEN, or the config's admin_auth).")
        Path tokenFile;

        @picocli.CommandLine.Option(names = "--cacert", paramLabel = "FILE",
                description = "Talk HTTPS, trusting this PEM certificate (the config's admin_tls.cert with -c).")
        Path cacert;

        /**
         * @param at    the config's admin address, or the tier's default
         * @param admin {@code --admin HOST:PORT}, which wins when given
         */
        AdminEndpoint endpoint(String tier, HostPort at, String admin, AdminAccess access) {
            HostPort hp = at;
            if (admin != null) {
                try {
                    hp = HostPort.parse(admin, at.port());
                } catch (IllegalArgumentException e) {
                    throw new UserException("--admin " + admin + ": " + e.getMessage(), ExitCodes.USAGE);
                }
            }
            return AdminEndpoint.of(tier, hp, access, tokenFile, cacert);
        }
    }

    private final String base;
    private final Optional<String> authorization;
    private final HttpClient client;
    private final String tier;

    private AdminEndpoint(String base, Optional<String> authorization, HttpClient client, String tier) {
        this.base = base;
        this.authorization = authorization;
        this.client = client;
        this.tier = tier;
    }

    /**
     * @param tier      "director" or "proxy", for messages
     * @param at        the admin address
     * @param access    the config's admin_auth/admin_tls ({@link AdminAccess#OPEN} without a config)
     * @param tokenFile {@code --token-file}, or null
     * @param cacert    {@code --cacert}, or null
     */
    static AdminEndpoint of(String tier, HostPort at, AdminAccess access, Path tokenFile, Path cacert) {
        Optional<String> auth;
        if (tokenFile != null) {
            auth = Optional.of("Bearer " + readToken(tokenFile));
        } else if (System.getenv(TOKEN_ENV) != null && !System.getenv(TOKEN_ENV).isBlank()) {
            auth = Optional.of("Bearer " + System.getenv(TOKEN_ENV).strip());
        } else if (access.token().isPresent()) {
            auth = Optional.of("Bearer " + access.token().get());
        } else if (access.basicUser().isPresent()) {
            String pair = access.basicUser().get() + ":" + access.basicPassword().orElse("");
            auth = Optional.of("Basic " + Base64.getEncoder().encodeToString(pair.getBytes(StandardCharsets.UTF_8)));
        } else {
            auth = Optional.empty();
        }
        Path trust = cacert != null ? cacert : access.tls().map(AdminAccess.Tls::cert).orElse(null);
        // Generous: "connection refused" comes at once anyway; these only bound a black-holed address or a TLS
        // handshake with a process so busy that its admin loop answers late (seen at load average 18: over 3 s).
        HttpClient.Builder b = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10));
        if (trust != null) {
            b.sslContext(trusting(trust));
        }
        return new AdminEndpoint((trust != null ? "https://" : "http://") + at, auth, b.build(), tier);
    }

    /** {@code http(s)://host:port}. */
    String base() {
        return base;
    }

    /** Sends with the credentials; unreachable, 401 and 403 become messages that say what to do. */
    HttpResponse<String> send(HttpRequest.Builder req) {
        authorization.ifPresent(a -> req.header("Authorization", a));
        HttpRequest request = req.timeout(Duration.ofSeconds(20)).build();
        HttpResponse<String> r;
        try {
            r = client.send(request, HttpResponse.BodyHandlers.ofString());
        } catch (ConnectException e) {
            throw new UserException("no " + tier + " answers at " + request.uri() + " (is it running? is --admin right?)",
                    ExitCodes.FAILURE);
        } catch (IOException e) {
            throw new UserException("talking to the " + tier + " at " + base + ": " + e
                    + (base.startsWith("http://") ? " (if its admin endpoint uses TLS, give --cacert FILE)" : ""),
                    ExitCodes.FAILURE);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new UserException("interrupted", ExitCodes.FAILURE);
        }
        if (r.statusCode() == 401) {
            throw new UserException("the " + tier + " at " + base + " wants credentials: give --token-file FILE, set "
                    + TOKEN_ENV + ", or -c the config whose admin_auth it uses", ExitCodes.NO_PERMISSION);
        }
        if (r.statusCode() == 403) {
            throw new UserException("the " + tier + " at " + base + " refused the credentials: " + r.body().trim(),
                    ExitCodes.NO_PERMISSION);
        }
        return r;
    }

    private static String readToken(Path file) {
        try {
            String t = Files.readString(file, StandardCharsets.UTF_8).strip();
            if (t.isEmpty()) {
                throw new UserException("--token-file " + file + " is empty", ExitCodes.USAGE);
            }
            return t;
        } catch (IOException e) {
            throw new UserException("--token-file " + file + ": cannot read it (" + e.getMessage() + ")", ExitCodes.USAGE);
        }
    }

    /** Trusts exactly the certificates in a PEM file (the admin endpoint's own, or its CA). */
    private static SSLContext trusting(Path pem) {
        try (InputStream in = Files.newInputStream(pem)) {
            KeyStore ks = KeyStore.getInstance(KeyStore.getDefaultType());
            ks.load(null, null);
            int i = 0;
            for (Certificate c : CertificateFactory.getInstance("X.509").generateCertificates(in)) {
                ks.setCertificateEntry("admin-" + i++, c);
            }
            if (i == 0) {
                throw new UserException(pem + " holds no PEM certificate", ExitCodes.USAGE);
            }
            TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
            tmf.init(ks);
            SSLContext ctx = SSLContext.getInstance("TLS");
            ctx.init(null, tmf.getTrustManagers(), null);
            return ctx;
        } catch (IOException e) {
            throw new UserException("cannot read the certificate " + pem + ": " + e.getMessage(), ExitCodes.USAGE);
        } catch (java.security.GeneralSecurityException e) {
            throw new UserException(pem + " is not a usable PEM certificate: " + e.getMessage(), ExitCodes.USAGE);
        }
    }
}
