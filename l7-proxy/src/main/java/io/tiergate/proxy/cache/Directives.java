package io.tiergate.proxy.cache;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.OptionalLong;

/**
 * Parsed cache directives of one field (Cache-Control, or a targeted field such as CDN-Cache-Control).
 *
 * <p>Two parsers because the fields differ in syntax: Cache-Control is the lenient RFC 9111 list (first occurrence of
 * a directive wins, quoted and unquoted arguments alike), while targeted fields (RFC 9213) are Structured Field
 * dictionaries, and an invalid dictionary must make the cache ignore the whole field.
 */
public final class Directives {
    /** RFC 9111 §1.2.2: larger or overflowing delta-seconds are treated as 2^31. */
    public static final long MAX_DELTA = 2147483648L;
    public static final Directives NONE = new Directives(Map.of());

    private final Map<String, String> values;

    private Directives(Map<String, String> values) {
        this.values = values;
    }

    /** Cache-Control field lines (all of them, in order) → directives; never fails. */
    public static Directives parseCacheControl(List<String> lines) {
        Map<String, String> out = new LinkedHashMap<>();
        for (String line : lines) {
            for (String part : splitOutsideQuotes(line)) {
                String p = part.trim();
                if (p.isEmpty()) {
                    continue;
                }
                int eq = p.indexOf('=');
                String name = (eq < 0 ? p : p.substring(0, eq)).trim().toLowerCase(Locale.ROOT);
                String arg = eq < 0 ? "" : unquote(p.substring(eq + 1).trim());
                out.putIfAbsent(name, arg);
            }
        }
        return out.isEmpty() ? NONE : new Directives(Collections.unmodifiableMap(out));
    }

    /**
     * A targeted field (RFC 9213) as a Structured Field dictionary; {@code null} when it is absent or invalid, which
     * tells the caller to fall back to Cache-Control. Directive names are matched case-insensitively (lenient).
     */
    public static Directives parseTargeted(List<String> lines) {
        if (lines.isEmpty()) {
            return null;
        }
        Map<String, String> out = new LinkedHashMap<>();
        String text = String.join(",", lines);
        for (String member : splitOutsideQuotes(text)) {
            String m = member.strip();
            if (m.isEmpty()) {
                return null;
            }
            int semi = m.indexOf(';');
            if (semi >= 0) {
                m = m.substring(0, semi); // parameters carry nothing we use
            }
            int eq = m.indexOf('=');
            String key = (eq < 0 ? m : m.substring(0, eq)).toLowerCase(Locale.ROOT);
            if (!key.matches("[a-z*][a-z0-9_.*-]*")) {
                return null;
            }
            String value;
            if (eq < 0) {
                value = "";
            } else {
                String v = m.substring(eq + 1);
                if (v.matches("-?[0-9]{1,15}")) {
                    value = v;
                } else if (v.matches("\"([^\"\\\\]|\\\\.)*\"")) {
                    value = "\u0000" + unquote(v); // a String item: not a valid delta-seconds
                } else if (v.matches("[A-Za-z*][A-Za-z0-9:/!#$%&'*+.^_`|~-]*|\\?[01]|-?[0-9]{1,12}\\.[0-9]{1,3}")) {
                    value = "\u0000" + v;
                } else {
                    return null;
                }
            }
            out.put(key, value); // SF dictionaries: the last duplicate wins
        }
        for (String numeric : List.of("max-age", "s-maxage", "stale-while-revalidate", "stale-if-error")) {
            String v = out.get(numeric);
            if (v != null && (v.isEmpty() || v.startsWith("\u0000"))) {
                return null; // RFC 9213 §2.1: wrong value type → the field is invalid
            }
        }
        return new Directives(Collections.unmodifiableMap(out));
    }

    public boolean has(String name) {
        return values.containsKey(name);
    }

    public boolean isEmpty() {
        return values.isEmpty();
    }

    /** The raw argument ("" when the directive has none), or null when absent. */
    public String arg(String name) {
        return values.get(name);
    }

    /**
     * delta-seconds of a directive; absent → empty; present but malformed → 0 (treating the response as stale is the
     * safe reading); too large → 2^31.
     */
    public OptionalLong seconds(String name) {
        String a = values.get(name);
        if (a == null) {
            return OptionalLong.empty();
        }
        return OptionalLong.of(deltaSeconds(a, 0));
    }

    /** Like {@link #seconds} but a missing argument means "any" ({@link #MAX_DELTA}); used for max-stale. */
    public OptionalLong secondsOrUnbounded(String name) {
        String a = values.get(name);
        if (a == null) {
            return OptionalLong.empty();
        }
        return OptionalLong.of(a.isEmpty() ? MAX_DELTA : deltaSeconds(a, 0));
    }

    static long deltaSeconds(String s, long invalid) {
        if (s.isEmpty()) {
            return invalid;
        }
        for (int i = 0; i < s.length(); i++) {
            if (s.charAt(i) < '0' || s.charAt(i) > '9') {
                return invalid;
            }
        }
        if (s.length() > 10) {
            return MAX_DELTA;
        }
        return Math.min(Long.parseLong(s), MAX_DELTA);
    }

    private static String unquote(String s) {
        if (s.length() >= 2 && s.charAt(0) == '"' && s.charAt(s.length() - 1) == '"') {
            return s.substring(1, s.length() - 1).replaceAll("\\\\(.)", "$1");
        }
        return s;
    }

    static List<String> splitOutsideQuotes(String s) {
        List<String> out = new java.util.ArrayList<>();
        StringBuilder cur = new StringBuilder();
        boolean q = false;
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '"' && (i == 0 || s.charAt(i - 1) != '\\')) {
                q = !q;
            }
            if (c == ',' && !q) {
                out.add(cur.toString());
                cur.setLength(0);
            } else {
                cur.append(c);
            }
        }
        out.add(cur.toString());
        return out;
    }

    @Override
    public String toString() {
        return values.toString();
    }
}
