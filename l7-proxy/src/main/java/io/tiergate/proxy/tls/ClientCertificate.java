package io.tiergate.proxy.tls;

import io.tiergate.proxy.config.ListenerConfig;
import io.tiergate.proxy.config.ProxyConfig;
import io.tiergate.proxy.request.ProxyRequest;
import io.vertx.core.MultiMap;

import javax.net.ssl.SSLPeerUnverifiedException;
import java.security.cert.Certificate;
import java.security.cert.CertificateEncodingException;
import java.security.cert.X509Certificate;
import java.util.Base64;
import java.util.List;

/**
 * The verified client certificate of a TLS listener, passed to the upstream in the configured headers (nginx:
 * {@code proxy_set_header X-Client-Subject $ssl_client_s_dn}). Whatever a client sends in those headers itself is
 * removed on every listener first: only the proxy may speak for a certificate.
 */
public final class ClientCertificate {
    private ClientCertificate() {
    }

    /** Strips every configured client-certificate header from {@code out}, then sets this request's verified ones. */
    public static void apply(MultiMap out, ProxyRequest request, ProxyConfig config) {
        ListenerConfig mine = null;
        for (ListenerConfig l : config.listeners()) {
            if (l.tls() != null) {
                l.tls().clientHeaders().forEach(out::remove);
                if (l.name().equals(request.listener())) {
                    mine = l;
                }
            }
        }
        if (mine == null || mine.tls().clientHeaders().isEmpty() || !request.raw().isSSL()) {
            return;
        }
        X509Certificate leaf = verifiedLeaf(request);
        if (leaf == null) {
            return; // client_auth optional and no certificate: the headers stay absent
        }
        ListenerConfig.Tls tls = mine.tls();
        if (tls.clientSubjectHeader() != null) {
            out.set(tls.clientSubjectHeader(), leaf.getSubjectX500Principal().getName());
        }
        if (tls.clientCertHeader() != null) {
            try {
                out.set(tls.clientCertHeader(), urlEscapedPem(leaf));
            } catch (CertificateEncodingException e) {
                throw new IllegalStateException("a verified client certificate that cannot be encoded", e);
            }
        }
    }

    /** The leaf the TLS handshake verified against client_ca, or null when the client sent none. */
    private static X509Certificate verifiedLeaf(ProxyRequest request) {
        try {
            List<Certificate> chain = request.raw().connection().peerCertificates();
            return chain == null || chain.isEmpty() || !(chain.get(0) instanceof X509Certificate x) ? null : x;
        } catch (SSLPeerUnverifiedException e) {
            return null;
        }
    }

    /** PEM with its newlines and other unsafe characters percent-escaped, as nginx's $ssl_client_escaped_cert. */
    static String urlEscapedPem(X509Certificate c) throws CertificateEncodingException {
        String b64 = Base64.getMimeEncoder(64, new byte[] {'\n'}).encodeToString(c.getEncoded());
        String pem = "-----BEGIN CERTIFICATE-----\n" + b64 + "\n-----END CERTIFICATE-----\n";
        return pem.replace("%", "%25").replace("\n", "%0A").replace(" ", "%20").replace("+", "%2B")
                .replace("/", "%2F").replace("=", "%3D");
    }
}
