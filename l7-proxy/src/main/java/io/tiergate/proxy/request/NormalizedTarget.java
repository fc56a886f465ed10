package io.tiergate.proxy.request;

/**
 * What normalization made of a request head.
 *
 * @param scheme           "https" on a TLS connection, else "http": from the connection, never from the client
 * @param authority        the host the request is for (absolute-form's authority, else :authority, else Host);
 *                         null for an HTTP/1.0 request without Host (the default server answers it)
 * @param path             the normalized path ({@link PathNormalizer}); "*" for {@code OPTIONS *}
 * @param query            the query after '?', as received (checked, not decoded), or null when there is none
 * @param encodedSlashView the path with %2F/%5C read as '/', or null when it has none
 */
public record NormalizedTarget(String scheme, Authority authority, String path, String query,
                               String encodedSlashView) {

    /** The request-target sent upstream: origin-form, normalized path plus the original query. */
    public String uri() {
        return query == null ? path : path + "?" + query;
    }

    /** The host that selects a virtual server ("" picks the listener's default server). */
    public String routingHost() {
        return authority == null ? "" : authority.host();
    }

    public boolean asterisk() {
        return path.equals("*");
    }
}
