package io.tiergate.proxy.request;

import java.util.ArrayList;
import java.util.List;

/**
 * The one path normalization of the proxy, applied before routing; routing, rewrite, the cache key, static files
 * and the request line sent upstream all see its result, so an origin can never resolve a different resource than
 * the location that was chosen. In order:
 * <ol>
 * <li>Only ASCII graphic characters are allowed (RFC 9112 §3.2, RFC 3986 §2): control bytes, NUL, space, non-ASCII
 * bytes, '#' and '\' are refused (400). '\' because some origins treat it as '/'.</li>
 * <li>Percent-encoded unreserved characters (ALPHA DIGIT - . _ ~) are decoded (RFC 3986 §2.3, §6.2.2.2);
 * every other escape stays encoded with upper-case hex (§6.2.2.1). So {@code %69} becomes {@code i} and {@code %2e}
 * becomes '.', while {@code %2F} stays {@code %2F}. A malformed escape and {@code %00} are refused.</li>
 * <li>Runs of '/' become one when {@code mergeSlashes} is on (nginx's merge_slashes).</li>
 * <li>Dot segments are removed (RFC 3986 §5.2.4), after decoding, so {@code %2e%2e} counts; a '..' that would climb
 * above the root is refused rather than clamped.</li>
 * </ol>
 * A pure function: the same input always gives the same output, and the output is a fixed point.
 */
public final class PathNormalizer {
    private static final char[] HEX = "0123456789ABCDEF".toCharArray();

    private PathNormalizer() {
    }

    /** The normalized form of {@code path} (the request-target up to '?'); throws {@link BadRequest} (400). */
    public static String normalize(String path, boolean mergeSlashes) {
        if (path.isEmpty() || path.charAt(0) != '/') {
            throw new BadRequest("the path must start with '/'");
        }
        // Built from the first '%' on: up to there the path is its own normal form, and most paths have none.
        StringBuilder out = null;
        boolean later = false; // whether a later step can change anything: a '.' or a "//" is there
        for (int i = 0; i < path.length(); i++) {
            char c = path.charAt(i);
            if (c == '%') {
                int b = i + 2 < path.length() ? hex(path.charAt(i + 1)) << 4 | hex(path.charAt(i + 2)) : -1;
                if (b < 0) {
                    throw new BadRequest("malformed percent-encoding at offset " + i + " of the path");
                }
                if (b == 0) {
                    throw new BadRequest("%00 (NUL) in the path");
                }
                if (out == null) {
                    out = new StringBuilder(path.length()).append(path, 0, i);
                }
                if (unreserved(b)) {
                    later |= b == '.';
                    out.append((char) b);
                } else {
                    out.append('%').append(HEX[b >> 4]).append(HEX[b & 0xf]);
                }
                i += 2;
            } else if (c <= ' ' || c >= 0x7f) {
                throw new BadRequest(describe(c) + " in the path (only visible ASCII; encode it as %XX)");
            } else if (c == '#' || c == '\\') {
                throw new BadRequest("'" + c + "' in the path (encode it as %" + HEX[c >> 4] + HEX[c & 0xf] + ")");
            } else {
                char previous = out != null ? (out.length() > 0 ? out.charAt(out.length() - 1) : 0)
                        : (i > 0 ? path.charAt(i - 1) : 0);
                later |= c == '.' || (c == '/' && previous == '/');
                if (out != null) {
                    out.append(c);
                }
            }
        }
        String decoded = out == null ? path : out.toString();
        return later ? removeDotSegments(decoded, mergeSlashes) : decoded;
    }

    /**
     * The path as an origin that decodes {@code %2F} and {@code %5C} as '/' would see it, or null when the path has
     * neither. The caller routes this view too and refuses the request when it would select another location;
     * a dot segment hidden behind an encoded slash ({@code /a%2F..%2Fb}) is refused here (400).
     */
    public static String encodedSlashView(String normalized, boolean mergeSlashes) {
        if (normalized.indexOf('%') < 0) {
            return null;
        }
        String view = normalized.replace("%2F", "/").replace("%5C", "/");
        if (view.equals(normalized)) {
            return null;
        }
        String resolved;
        try {
            resolved = removeDotSegments(view, mergeSlashes);
        } catch (BadRequest e) {
            throw new BadRequest("a '..' behind an encoded slash (%2F or %5C) climbs above the root");
        }
        if (!resolved.equals(mergeSlashes ? mergeSlashes(view) : view)) {
            throw new BadRequest("a dot segment behind an encoded slash (%2F or %5C): ambiguous between origins");
        }
        return resolved;
    }

    /** Whether the query (after '?', not decoded) holds only characters a request-target may carry. */
    public static void checkQuery(String query) {
        for (int i = 0; i < query.length(); i++) {
            char c = query.charAt(i);
            if (c <= ' ' || c >= 0x7f || c == '#') {
                throw new BadRequest(describe(c) + " in the query string");
            }
        }
    }

    private static String removeDotSegments(String path, boolean mergeSlashes) {
        String p = mergeSlashes ? mergeSlashes(path) : path;
        String[] segments = p.substring(1).split("/", -1);
        List<String> out = new ArrayList<>(segments.length);
        for (int i = 0; i < segments.length; i++) {
            String s = segments[i];
            boolean last = i == segments.length - 1;
            if (s.equals(".") || s.equals("..")) {
                if (s.equals("..")) {
                    if (out.isEmpty()) {
                        throw new BadRequest("'..' in the path climbs above the root");
                    }
                    out.remove(out.size() - 1);
                }
                if (last) {
                    out.add(""); // "/a/b/.." is the directory "/a/"
                }
            } else {
                out.add(s);
            }
        }
        return "/" + String.join("/", out);
    }

    private static String mergeSlashes(String p) {
        if (!p.contains("//")) {
            return p;
        }
        StringBuilder b = new StringBuilder(p.length());
        for (int i = 0; i < p.length(); i++) {
            char c = p.charAt(i);
            if (c != '/' || b.length() == 0 || b.charAt(b.length() - 1) != '/') {
                b.append(c);
            }
        }
        return b.toString();
    }

    static boolean unreserved(int b) {
        return (b >= 'a' && b <= 'z') || (b >= 'A' && b <= 'Z') || (b >= '0' && b <= '9')
                || b == '-' || b == '.' || b == '_' || b == '~';
    }

    private static int hex(char c) {
        if (c >= '0' && c <= '9') {
            return c - '0';
        }
        if (c >= 'a' && c <= 'f') {
            return c - 'a' + 10;
        }
        if (c >= 'A' && c <= 'F') {
            return c - 'A' + 10;
        }
        return -256; // makes the combined value negative
    }

    static String describe(char c) {
        if (c == ' ') {
            return "a space";
        }
        if (c == 0) {
            return "a NUL byte";
        }
        if (c < ' ' || c == 0x7f) {
            return "control byte 0x" + HEX[c >> 4 & 0xf] + HEX[c & 0xf];
        }
        if (c > 0x7f) {
            return "non-ASCII byte 0x" + Integer.toHexString(c);
        }
        return "'" + c + "'";
    }
}
