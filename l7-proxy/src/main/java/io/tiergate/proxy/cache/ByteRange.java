package io.tiergate.proxy.cache;

/** A single byte range of RFC 9110 §14.1.2 against a known length. Shared with static files. */
public final class ByteRange {
    /** Returned when the range is syntactically valid but cannot be satisfied (→ 416). */
    public static final long[] UNSATISFIABLE = new long[0];

    private ByteRange() {
    }

    /**
     * {@code [first, last]} inclusive; {@link #UNSATISFIABLE}; or null when the header should be ignored (not bytes,
     * malformed, or several ranges — serving the whole representation is always allowed).
     */
    public static long[] parse(String header, long length) {
        String h = header.trim();
        if (!h.regionMatches(true, 0, "bytes=", 0, 6)) {
            return null;
        }
        String spec = h.substring(6).trim();
        if (spec.contains(",")) {
            return null;
        }
        int dash = spec.indexOf('-');
        if (dash < 0) {
            return null;
        }
        String a = spec.substring(0, dash).trim();
        String b = spec.substring(dash + 1).trim();
        try {
            if (a.isEmpty()) {
                if (b.isEmpty()) {
                    return null;
                }
                long suffix = Long.parseLong(b);
                if (suffix <= 0 || length == 0) {
                    return UNSATISFIABLE;
                }
                return new long[] {Math.max(0, length - suffix), length - 1};
            }
            long first = Long.parseLong(a);
            long last = b.isEmpty() ? length - 1 : Long.parseLong(b);
            if (first < 0 || (!b.isEmpty() && last < first)) {
                return null;
            }
            if (first >= length) {
                return UNSATISFIABLE;
            }
            return new long[] {first, Math.min(last, length - 1)};
        } catch (NumberFormatException e) {
            return null;
        }
    }
}
