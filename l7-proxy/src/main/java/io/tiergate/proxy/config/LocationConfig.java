package io.tiergate.proxy.config;

import io.tiergate.proxy.controls.Controls;
import io.tiergate.proxy.features.LocationFeatures;

import java.util.regex.Pattern;

/**
 * A location block. Exactly one match kind; nginx's selection order applies (see docs/proxy.md): exact, then the
 * longest prefix (which ends the search when {@code stopRegex}, nginx's {@code ^~}), then regexes in file order,
 * then that longest prefix.
 */
public record LocationConfig(Kind kind, String path, Pattern regex, boolean stopRegex, String upstream,
                             RetryPolicy retry, LocationFeatures features, Controls controls, String label) {
    public enum Kind { EXACT, PREFIX, REGEX }

    /**
     * A location; its {@link #label()} is made here once, not on every request (the metrics look their meters up by
     * it for each response, and a new String each time cost a concatenation and a hash).
     */
    public LocationConfig(Kind kind, String path, Pattern regex, boolean stopRegex, String upstream, RetryPolicy retry,
                          LocationFeatures features, Controls controls) {
        this(kind, path, regex, stopRegex, upstream, retry, features, controls, label(kind, path, regex, stopRegex));
    }

    /** A location without front-door controls (limits, access rules, auth). */
    public LocationConfig(Kind kind, String path, Pattern regex, boolean stopRegex, String upstream, RetryPolicy retry,
                          LocationFeatures features) {
        this(kind, path, regex, stopRegex, upstream, retry, features, Controls.NONE);
    }

    /** A location that only forwards (no cache, rewrite, header rules or gzip). */
    public LocationConfig(Kind kind, String path, Pattern regex, boolean stopRegex, String upstream, RetryPolicy retry) {
        this(kind, path, regex, stopRegex, upstream, retry, LocationFeatures.NONE);
    }

    /** How the location was written, for logs and metrics labels ({@code = /x}, {@code /api/}, {@code ~ \.php$}). */
    private static String label(Kind kind, String path, Pattern regex, boolean stopRegex) {
        return switch (kind) {
            case EXACT -> "= " + path;
            case PREFIX -> (stopRegex ? "^~ " : "") + path;
            case REGEX -> ((regex.flags() & Pattern.CASE_INSENSITIVE) != 0 ? "~* " : "~ ") + regex.pattern();
        };
    }
}
