package io.tiergate.shared.config;

import java.time.Duration;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** The one place where durations ({@code 100ms}, {@code 2s}, {@code 1m}) and sizes ({@code 64k}, {@code 10m}) parse. */
public final class Units {
    private static final Pattern DURATION = Pattern.compile("(\\d+(?:\\.\\d+)?)\\s*(ns|us|µs|ms|s|m|h|d)");
    private static final Pattern SIZE = Pattern.compile("(\\d+(?:\\.\\d+)?)\\s*([kmgt]?)(i?b)?");
    public static final String DURATION_EXPECTED = "a duration like 100ms, 2s, 1m, 1h30m (units: ns us ms s m h d)";
    public static final String SIZE_EXPECTED = "a size like 512, 64k, 10m, 1g (bytes; k/m/g/t are powers of 1024)";

    private Units() {
    }

    /** Parses a duration; composite values like {@code 1m30s} are allowed. Throws IllegalArgumentException. */
    public static Duration parseDuration(String text) {
        String s = text.trim().toLowerCase(Locale.ROOT);
        if (s.equals("0")) {
            return Duration.ZERO;
        }
        Matcher m = DURATION.matcher(s);
        int pos = 0;
        long nanos = 0;
        while (pos < s.length()) {
            if (!m.find(pos) || m.start() != pos) {
                throw new IllegalArgumentException("'" + text + "' is not a duration");
            }
            double v = Double.parseDouble(m.group(1));
            long unit = switch (m.group(2)) {
                case "ns" -> 1L;
                case "us", "µs" -> 1_000L;
                case "ms" -> 1_000_000L;
                case "s" -> 1_000_000_000L;
                case "m" -> 60_000_000_000L;
                case "h" -> 3_600_000_000_000L;
                default -> 86_400_000_000_000L;
            };
            nanos += Math.round(v * unit);
            pos = m.end();
        }
        if (pos == 0) {
            throw new IllegalArgumentException("'" + text + "' is not a duration");
        }
        return Duration.ofNanos(nanos);
    }

    /** Parses a size in bytes; {@code k}, {@code m}, {@code g}, {@code t} are powers of 1024. */
    public static long parseSize(String text) {
        String s = text.trim().toLowerCase(Locale.ROOT);
        Matcher m = SIZE.matcher(s);
        if (!m.matches()) {
            throw new IllegalArgumentException("'" + text + "' is not a size");
        }
        double v = Double.parseDouble(m.group(1));
        long mult = switch (m.group(2)) {
            case "k" -> 1L << 10;
            case "m" -> 1L << 20;
            case "g" -> 1L << 30;
            case "t" -> 1L << 40;
            default -> 1L;
        };
        return Math.round(v * mult);
    }

    /** Renders a duration the way users write it, for messages and status output. */
    public static String format(Duration d) {
        long n = d.toNanos();
        if (n == 0) {
            return "0s";
        }
        if (n % 86_400_000_000_000L == 0) {
            return n / 86_400_000_000_000L + "d";
        }
        if (n % 3_600_000_000_000L == 0) {
            return n / 3_600_000_000_000L + "h";
        }
        if (n % 60_000_000_000L == 0) {
            return n / 60_000_000_000L + "m";
        }
        if (n % 1_000_000_000L == 0) {
            return n / 1_000_000_000L + "s";
        }
        if (n % 1_000_000L == 0) {
            return n / 1_000_000L + "ms";
        }
        if (n % 1_000L == 0) {
            return n / 1_000L + "us";
        }
        return n + "ns";
    }

    /** Renders a size the way users write it ({@code 10m}, {@code 64k}, {@code 512}), for messages. */
    public static String formatSize(long bytes) {
        for (String unit : new String[] {"t", "g", "m", "k"}) {
            long mult = switch (unit) {
                case "t" -> 1L << 40;
                case "g" -> 1L << 30;
                case "m" -> 1L << 20;
                default -> 1L << 10;
            };
            if (bytes >= mult && bytes % mult == 0) {
                return bytes / mult + unit;
            }
        }
        return Long.toString(bytes);
    }
}
