package io.tiergate.proxy.tls;

import io.tiergate.proxy.config.ListenerConfig;
import io.tiergate.shared.config.FileErrors;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.ClientAuth;
import io.vertx.core.http.HttpVersion;
import io.vertx.core.net.ClientSSLOptions;
import io.vertx.core.net.PemKeyCertOptions;
import io.vertx.core.net.PemTrustOptions;
import io.vertx.core.net.ServerSSLOptions;

import java.io.IOException;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.Signature;
import java.security.cert.Certificate;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;

/**
 * A TLS listener's PEM files: the SSL options built from them, a digest of their contents (a renewal that writes new
 * files at the same paths changes the digest, not the config), and whether a key belongs to its certificate.
 */
public final class Certificates {
    private Certificates() {
    }

    /** The listener's server TLS options: certificates by SNI, h2 by ALPN when {@code http2}. */
    public static ServerSSLOptions sslOptions(ListenerConfig.Tls tls) {
        PemKeyCertOptions pem = new PemKeyCertOptions();
        for (ListenerConfig.KeyPair kp : tls.certificates()) {
            pem.addCertPath(kp.cert().toString()).addKeyPath(kp.key().toString());
        }
        ServerSSLOptions o = new ServerSSLOptions().setSni(true).setKeyCertOptions(pem);
        if (tls.clientAuth() != ListenerConfig.ClientAuth.NONE) {
            o.setClientAuth(tls.clientAuth() == ListenerConfig.ClientAuth.REQUIRED ? ClientAuth.REQUIRED
                    : ClientAuth.REQUEST).setTrustOptions(new PemTrustOptions().addCertPath(tls.clientCa().toString()));
        }
        if (tls.http2()) {
            o.setUseAlpn(true).setApplicationLayerProtocols(List.of(HttpVersion.HTTP_2.alpnName(),
                    HttpVersion.HTTP_1_1.alpnName()));
        }
        return o;
    }

    /** SHA-256 over every certificate, key, CA and ticket key file, in order; changes when any file's contents do. */
    public static String digest(ListenerConfig.Tls tls) throws IOException {
        List<Path> files = new java.util.ArrayList<>();
        for (ListenerConfig.KeyPair kp : tls.certificates()) {
            files.add(kp.cert());
            files.add(kp.key());
        }
        if (tls.clientCa() != null) {
            files.add(tls.clientCa());
        }
        files.addAll(tls.ticketKeys());
        return digest(files);
    }

    /** SHA-256 over the contents of {@code files}, in order. */
    public static String digest(List<Path> files) throws IOException {
        MessageDigest md;
        try {
            md = MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
        for (Path p : files) {
            try {
                md.update(FileErrors.read(p));
            } catch (IOException e) {
                throw new IOException("cannot read " + p + ": " + FileErrors.reason(e), e);
            }
            md.update((byte) 0);
        }
        return HexFormat.of().formatHex(md.digest());
    }

    /** Why {@code ca} is no usable CA bundle (unreadable, or no PEM certificate in it), or empty. */
    public static Optional<String> caProblem(Path ca) {
        byte[] bytes;
        try {
            bytes = FileErrors.read(ca);
        } catch (IOException e) {
            return Optional.of("cannot read " + ca + ": " + FileErrors.reason(e));
        }
        try {
            java.util.Collection<? extends Certificate> certs = java.security.cert.CertificateFactory
                    .getInstance("X.509").generateCertificates(new java.io.ByteArrayInputStream(bytes));
            if (certs.isEmpty()) {
                return Optional.of(ca + " holds no PEM certificate");
            }
        } catch (java.security.cert.CertificateException e) {
            return Optional.of(ca + " is not a PEM certificate bundle: " + e.getMessage());
        }
        return Optional.empty();
    }

    /**
     * The client TLS options for an upstream group: the servers are checked against {@code ca} (or the JDK's trust
     * store) including their host name, unless {@code verify} is off; {@code cert}/{@code key} are presented to
     * origins that ask; ALPN offers h2 when {@code http2}.
     */
    public static ClientSSLOptions clientOptions(io.tiergate.proxy.config.UpstreamConfig.Tls tls, boolean http2) {
        ClientSSLOptions o = new ClientSSLOptions();
        if (!tls.verify()) {
            o.setTrustAll(true).setHostnameVerificationAlgorithm("");
        } else {
            o.setHostnameVerificationAlgorithm("HTTPS");
            if (tls.ca() != null) {
                o.setTrustOptions(new PemTrustOptions().addCertPath(tls.ca().toString()));
            }
        }
        if (tls.cert() != null) {
            o.setKeyCertOptions(new PemKeyCertOptions().setCertPath(tls.cert().toString())
                    .setKeyPath(tls.key().toString()));
        }
        if (!tls.protocols().isEmpty()) {
            o.setEnabledSecureTransportProtocols(new java.util.LinkedHashSet<>(tls.protocols()));
        }
        if (http2) {
            o.setUseAlpn(true).setApplicationLayerProtocols(List.of(HttpVersion.HTTP_2.alpnName(),
                    HttpVersion.HTTP_1_1.alpnName()));
        }
        return o;
    }

    /**
     * Whether {@code leaf} is issued for {@code name} (RFC 6125): a DNS name against the DNS subjectAltNames, with a
     * wildcard only as the whole leftmost label; an address against the IP subjectAltNames. No CN fallback. Used
     * where Vert.x cannot check the name in the handshake (a WebSocket connected by address).
     */
    public static boolean matchesName(java.security.cert.X509Certificate leaf, String name) {
        java.util.Collection<List<?>> sans;
        try {
            sans = leaf.getSubjectAlternativeNames();
        } catch (java.security.cert.CertificateParsingException e) {
            return false;
        }
        if (sans == null) {
            return false;
        }
        boolean ip = io.tiergate.proxy.config.UpstreamConfig.isIpLiteral(name);
        String host = name.toLowerCase(java.util.Locale.ROOT);
        for (List<?> san : sans) {
            int type = (Integer) san.get(0);
            String value = String.valueOf(san.get(1)).toLowerCase(java.util.Locale.ROOT);
            if (ip && type == 7 && io.tiergate.shared.config.HostPort.canonicalIp(value)
                    .equals(io.tiergate.shared.config.HostPort.canonicalIp(host))) {
                return true;
            }
            if (!ip && type == 2 && dnsMatch(value, host)) {
                return true;
            }
        }
        return false;
    }

    private static boolean dnsMatch(String pattern, String host) {
        if (!pattern.startsWith("*.")) {
            return pattern.equals(host);
        }
        String suffix = pattern.substring(1); // ".example.com"
        int dot = host.indexOf('.');
        return dot > 0 && suffix.indexOf('.', 1) > 0 && host.substring(dot).equals(suffix);
    }

    /** Why the files of an upstream's TLS cannot be loaded (as {@link #problem} and {@link #caProblem}), or empty. */
    public static Optional<String> problem(io.tiergate.proxy.config.UpstreamConfig.Tls tls) {
        if (tls.ca() != null) {
            Optional<String> p = caProblem(tls.ca());
            if (p.isPresent()) {
                return p;
            }
        }
        return tls.cert() == null ? Optional.empty() : problem(tls.cert(), tls.key());
    }

    /**
     * Why {@code cert} and {@code key} cannot serve together, or empty when they can: unreadable, not PEM, or a key
     * that does not belong to the certificate (checked by signing with the key and verifying with the certificate's
     * public key, which works for RSA, EC and EdDSA alike).
     */
    public static Optional<String> problem(Path cert, Path key) {
        byte[] certBytes;
        byte[] keyBytes;
        try {
            certBytes = FileErrors.read(cert);
        } catch (IOException e) {
            return Optional.of("cannot read " + cert + ": " + FileErrors.reason(e));
        }
        try {
            keyBytes = FileErrors.read(key);
        } catch (IOException e) {
            return Optional.of("cannot read " + key + ": " + FileErrors.reason(e));
        }
        PrivateKey priv;
        Certificate leaf;
        try {
            KeyStore ks = new PemKeyCertOptions().setCertValue(Buffer.buffer(certBytes))
                    .setKeyValue(Buffer.buffer(keyBytes)).loadKeyStore(null);
            String alias = ks.aliases().nextElement();
            priv = (PrivateKey) ks.getKey(alias, io.vertx.core.net.impl.KeyStoreHelper.DUMMY_PASSWORD.toCharArray());
            leaf = ks.getCertificate(alias);
        } catch (Exception e) {
            String why = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
            return Optional.of(cert + " / " + key + " are not a PEM certificate and private key: " + why);
        }
        PublicKey pub = leaf.getPublicKey();
        if (!pub.getAlgorithm().equals(priv.getAlgorithm())) {
            return Optional.of("the key in " + key + " (" + priv.getAlgorithm() + ") does not belong to the certificate"
                    + " in " + cert + " (" + pub.getAlgorithm() + ")");
        }
        try {
            String alg = switch (priv.getAlgorithm()) {
                case "RSA" -> "SHA256withRSA";
                case "EC" -> "SHA256withECDSA";
                case "EdDSA", "Ed25519", "Ed448" -> priv.getAlgorithm();
                case "DSA" -> "SHA256withDSA";
                default -> null;
            };
            if (alg == null) {
                return Optional.empty(); // an algorithm we cannot test: let the TLS stack judge
            }
            byte[] probe = "tiergate key check".getBytes(java.nio.charset.StandardCharsets.US_ASCII);
            Signature sign = Signature.getInstance(alg);
            sign.initSign(priv);
            sign.update(probe);
            byte[] sig = sign.sign();
            Signature verify = Signature.getInstance(alg);
            verify.initVerify(pub);
            verify.update(probe);
            if (!verify.verify(sig)) {
                return Optional.of("the key in " + key + " does not belong to the certificate in " + cert);
            }
        } catch (java.security.GeneralSecurityException e) {
            return Optional.of("the key in " + key + " does not belong to the certificate in " + cert + " ("
                    + e.getMessage() + ")");
        }
        return Optional.empty();
    }
}
