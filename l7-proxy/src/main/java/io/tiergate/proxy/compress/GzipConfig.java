package io.tiergate.proxy.compress;

import io.tiergate.shared.config.ConfigMap;
import io.tiergate.shared.config.ConfigNode;

import java.util.List;
import java.util.Locale;
import java.util.Optional;

/**
 * Per-location compression ({@code gzip: on|off} or a mapping). Types are matched on the media type without
 * parameters. {@code brotli} (on by default) offers br next to gzip, preferred when the client weighs it at least as
 * high; {@code brotliLevel} is brotli's quality (0–11; 4 keeps streaming cheap).
 */
public record GzipConfig(boolean enabled, List<String> types, long minLength, int level, boolean brotli,
                         int brotliLevel) {
    public static final List<String> DEFAULT_TYPES = List.of("text/html", "text/plain", "text/css", "text/xml",
            "text/javascript", "application/javascript", "application/json", "application/xml", "image/svg+xml");
    public static final GzipConfig OFF = new GzipConfig(false, DEFAULT_TYPES, 1024, 6, true, 4);
    public static final GzipConfig ON = new GzipConfig(true, DEFAULT_TYPES, 1024, 6, true, 4);

    public GzipConfig(boolean enabled, List<String> types, long minLength, int level) {
        this(enabled, types, minLength, level, true, 4);
    }

    public static GzipConfig parse(ConfigMap location, String key) {
        Optional<ConfigNode> raw = location.raw(key);
        if (raw.isEmpty()) {
            return OFF;
        }
        if (raw.get() instanceof ConfigNode.Scalar) {
            return location.bool(key, false) ? ON : OFF;
        }
        return parse(location.mapOrEmpty(key));
    }

    public static GzipConfig parse(ConfigMap m) {
        boolean enabled = m.bool("enabled", true);
        List<String> types = m.stringList("types", DEFAULT_TYPES).stream()
                .map(t -> t.trim().toLowerCase(Locale.ROOT)).toList();
        for (String t : types) {
            if (!t.matches("[a-z0-9.+*-]+/[a-z0-9.+*-]+")) {
                m.error("types", "'" + t + "' is not a media type", "types like text/html or application/*");
            }
        }
        long min = m.size("min_length", 1024);
        int level = m.integer("level", 6, 1, 9);
        boolean brotli = m.bool("brotli", true);
        int brotliLevel = m.integer("brotli_level", 4, 0, 11);
        m.finish();
        return new GzipConfig(enabled, types, min, level, brotli, brotliLevel);
    }

    public boolean matchesType(String contentType) {
        if (contentType == null) {
            return false;
        }
        String t = contentType.split(";", 2)[0].trim().toLowerCase(Locale.ROOT);
        for (String pattern : types) {
            if (pattern.equals(t) || (pattern.endsWith("/*") && t.startsWith(pattern.substring(0, pattern.length() - 1)))) {
                return true;
            }
        }
        return false;
    }
}
