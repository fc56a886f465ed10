package io.tiergate.proxy.request;

import java.util.List;

/**
 * The parts of a request head that normalization reads, as received (nothing decoded or checked yet). Plain data,
 * so the normalizer is a pure function that property tests can drive without a server.
 *
 * @param method      the method token
 * @param protocol    HTTP/1.0, HTTP/1.1 or HTTP/2
 * @param tls         whether the client connection is TLS (decides the scheme)
 * @param target      HTTP/1.x: the request-target; HTTP/2: {@code :path} (null when absent)
 * @param hostFields  every Host header field value
 * @param h2Scheme    HTTP/2 {@code :scheme} (null when absent or HTTP/1.x)
 * @param h2Authority HTTP/2 {@code :authority} (null when absent or HTTP/1.x)
 */
public record RequestHead(String method, Protocol protocol, boolean tls, String target, List<String> hostFields,
                          String h2Scheme, String h2Authority) {
    public enum Protocol { HTTP_1_0, HTTP_1_1, HTTP_2 }

    public RequestHead {
        hostFields = List.copyOf(hostFields);
    }
}
