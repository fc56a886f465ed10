package io.tiergate.proxy.support;

import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.ExtendedKeyUsage;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.cert.X509CertificateHolder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.Date;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A certificate authority made by a test, issuing server and client certificates as PEM files in a directory: what
 * an operator's internal CA does, so TLS is tested with real chains (a trust anchor's own dates are never checked, so
 * an expired certificate must be a leaf under a CA).
 */
public final class TestPki {
    private static final AtomicLong SERIAL = new AtomicLong(System.currentTimeMillis());
    private final Path dir;
    private final String name;
    private final KeyPair key;
    private final X509Certificate cert;

    /** A PEM certificate and its PKCS#8 key on disk. */
    public record Issued(Path cert, Path key, X509Certificate x509) {
    }

    private TestPki(Path dir, String name, KeyPair key, X509Certificate cert) {
        this.dir = dir;
        this.name = name;
        this.key = key;
        this.cert = cert;
    }

    /** A new root CA named {@code name}; its certificate is written to {@code dir/name-ca.pem}. */
    public static TestPki create(Path dir, String name) {
        try {
            KeyPair k = keyPair();
            Instant now = Instant.now();
            X500Name subject = new X500Name("CN=" + name);
            JcaX509v3CertificateBuilder b = new JcaX509v3CertificateBuilder(subject, serial(),
                    Date.from(now.minus(Duration.ofDays(1))), Date.from(now.plus(Duration.ofDays(365))), subject,
                    k.getPublic());
            b.addExtension(Extension.basicConstraints, true, new BasicConstraints(true));
            b.addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.keyCertSign | KeyUsage.cRLSign));
            X509Certificate c = sign(b, k);
            TestPki pki = new TestPki(dir, name, k, c);
            Files.writeString(pki.caPem(), pem("CERTIFICATE", c.getEncoded()));
            return pki;
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    public Path caPem() {
        return dir.resolve(name + "-ca.pem");
    }

    /** A server certificate for {@code dnsName}, valid now. */
    public Issued server(String dnsName) {
        return issue(dnsName, dnsName, Instant.now().minus(Duration.ofDays(1)), Instant.now().plus(Duration.ofDays(30)),
                KeyPurposeId.id_kp_serverAuth);
    }

    /** A server certificate for {@code dnsName} that expired yesterday. */
    public Issued expiredServer(String dnsName) {
        Instant now = Instant.now();
        return issue(dnsName, dnsName, now.minus(Duration.ofDays(30)), now.minus(Duration.ofDays(1)),
                KeyPurposeId.id_kp_serverAuth);
    }

    /** A client certificate with subject {@code CN=cn}. */
    public Issued client(String cn) {
        return issue(cn, null, Instant.now().minus(Duration.ofDays(1)), Instant.now().plus(Duration.ofDays(30)),
                KeyPurposeId.id_kp_clientAuth);
    }

    private Issued issue(String cn, String dnsName, Instant from, Instant to, KeyPurposeId purpose) {
        try {
            KeyPair k = keyPair();
            JcaX509v3CertificateBuilder b = new JcaX509v3CertificateBuilder(new X500Name("CN=" + name),
                    serial(), Date.from(from), Date.from(to), new X500Name("CN=" + cn), k.getPublic());
            if (dnsName != null) {
                b.addExtension(Extension.subjectAlternativeName, false,
                        new GeneralNames(new GeneralName(GeneralName.dNSName, dnsName)));
            }
            b.addExtension(Extension.extendedKeyUsage, false, new ExtendedKeyUsage(purpose));
            X509Certificate c = sign(b, this.key);
            long id = SERIAL.incrementAndGet();
            Path certFile = dir.resolve(cn + "-" + id + ".pem");
            Path keyFile = dir.resolve(cn + "-" + id + ".key");
            Files.writeString(certFile, pem("CERTIFICATE", c.getEncoded()));
            Files.writeString(keyFile, pem("PRIVATE KEY", k.getPrivate().getEncoded()));
            return new Issued(certFile, keyFile, c);
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    private static KeyPair keyPair() throws Exception {
        KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
        g.initialize(new ECGenParameterSpec("secp256r1"));
        return g.generateKeyPair();
    }

    private static BigInteger serial() {
        return BigInteger.valueOf(SERIAL.incrementAndGet());
    }

    private static X509Certificate sign(JcaX509v3CertificateBuilder b, KeyPair signer) throws Exception {
        X509CertificateHolder h = b.build(new JcaContentSignerBuilder("SHA256withECDSA").build(signer.getPrivate()));
        return new JcaX509CertificateConverter().getCertificate(h);
    }

    private static String pem(String type, byte[] der) {
        return "-----BEGIN " + type + "-----\n"
                + Base64.getMimeEncoder(64, "\n".getBytes(StandardCharsets.US_ASCII)).encodeToString(der)
                + "\n-----END " + type + "-----\n";
    }
}
