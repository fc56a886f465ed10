package io.tiergate.proxy.config;

import java.util.regex.Pattern;

/**
 * A location block. Exactly one match kind; nginx's selection order applies (see docs/proxy.md): exact, then the
 * longest prefix (which ends the search when {@code stopRegex}, nginx's {@code ^~}), then regexes in file order,
 * then that longest prefix.
 */
public record LocationConfig(Kind kind, String path, Pattern regex, boolean stopRegex, String upstream,
                             RetryPolicy retry) {
    public enum Kind { EXACT, PREFIX, REGEX }

    /** How the location was written, for logs and metrics labels ({@code = /x}, {@code /api/}, {@code ~ \.php$}). */
    public String label() {
        return switch (kind) {
            case EXACT -> "= " + path;
            case PREFIX -> (stopRegex ? "^~ " : "") + path;
            case REGEX -> ((regex.flags() & Pattern.CASE_INSENSITIVE) != 0 ? "~* " : "~ ") + regex.pattern();
        };
    }
}
