package io.tiergate.proxy.request;

import io.netty.handler.codec.http.HttpHeaderNames;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpVersion;
import io.vertx.core.net.HostAndPort;

/**
 * One request as every stage after normalization sees it: the normalized target (host, path, query, scheme from
 * the connection) and what the pipeline learned on the way in (listener, client address, request id), next to the
 * Vert.x request it came from (for its headers, body and response). Stages take this, not {@code raw.uri()}: the
 * raw target is only for the access log.
 *
 * <p>{@code clientIp} is the client as every feature sees it (after real_ip: see {@code access.RealIp});
 * {@code peerIp} is the hop the proxy talks to (TCP peer, or PROXY header source), which is what X-Forwarded-For
 * appends and what {@code trusted_proxies} is checked against.
 */
public record ProxyRequest(HttpServerRequest raw, String listener, NormalizedTarget target, String clientIp,
                           String requestId, String peerIp, RequestNotes notes) {

    /** A request whose client is its peer (no real_ip). */
    public ProxyRequest(HttpServerRequest raw, String listener, NormalizedTarget target, String clientIp,
                        String requestId) {
        this(raw, listener, target, clientIp, requestId, clientIp, new RequestNotes());
    }

    /** Normalizes {@code req}; throws {@link BadRequest} when it is not acceptable. */
    public static NormalizedTarget normalize(HttpServerRequest req, boolean mergeSlashes) {
        RequestHead.Protocol protocol = switch (req.version()) {
            case HTTP_1_0 -> RequestHead.Protocol.HTTP_1_0;
            case HTTP_1_1 -> RequestHead.Protocol.HTTP_1_1;
            default -> RequestHead.Protocol.HTTP_2;
        };
        boolean h2 = req.version() == HttpVersion.HTTP_2;
        String h2Authority = null;
        if (h2) {
            HostAndPort a = req.authority();
            h2Authority = a == null ? null : a.port() >= 0 ? a.host() + ":" + a.port() : a.host();
        }
        return RequestNormalizer.normalize(new RequestHead(req.method().name(), protocol, req.isSSL(), req.uri(),
                HeaderValues.of(req.headers(), HttpHeaderNames.HOST), h2 ? req.scheme() : null, h2Authority), mergeSlashes);
    }

    public String method() {
        return raw.method().name();
    }

    public String scheme() {
        return target.scheme();
    }

    /** The normalized request-target (path + original query): what routing saw and what the upstream is sent. */
    public String uri() {
        return target.uri();
    }

    public String path() {
        return target.path();
    }

    /** Null for an HTTP/1.0 request without Host. */
    public Authority authority() {
        return target.authority();
    }
}
