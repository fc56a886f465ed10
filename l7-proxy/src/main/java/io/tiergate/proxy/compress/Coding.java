package io.tiergate.proxy.compress;

/** The content codings the proxy produces, by their Content-Encoding token. */
public enum Coding {
    IDENTITY("identity"), GZIP("gzip"), BR("br");

    private final String token;

    Coding(String token) {
        this.token = token;
    }

    public String token() {
        return token;
    }

    /** A fresh encoder for one response; never called for IDENTITY. */
    public ContentEncoder encoder(GzipConfig config) {
        return switch (this) {
            case GZIP -> new GzipEncoder(config.level());
            case BR -> new BrotliEncoder(config.brotliLevel());
            case IDENTITY -> throw new IllegalStateException("identity has no encoder");
        };
    }
}
