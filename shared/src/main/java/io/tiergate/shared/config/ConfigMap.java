package io.tiergate.shared.config;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.function.Function;
import java.util.stream.Collectors;

/**
 * A typed, validating view of one YAML mapping. Every accessor records the key as known and reports a problem
 * (never throws) when the value is wrong, returning the default so parsing goes on and ALL problems are found.
 * {@link #finish()} reports keys nobody asked for as unknown, with a "did you mean" suggestion.
 */
public final class ConfigMap {
    private final ConfigNode node;
    private final Map<String, ConfigNode> entries;
    private final Problems problems;
    private final Set<String> known = new LinkedHashSet<>();

    private ConfigMap(ConfigNode node, Map<String, ConfigNode> entries, Problems problems) {
        this.node = node;
        this.entries = entries;
        this.problems = problems;
    }

    /** A view of {@code node}; if it is not a mapping a problem is recorded and an empty view returned. */
    public static ConfigMap of(ConfigNode node, Problems problems) {
        if (node instanceof ConfigNode.Mapping m) {
            return new ConfigMap(node, m.entries(), problems);
        }
        if (node instanceof ConfigNode.Scalar s && s.isNull()) {
            return new ConfigMap(node, Map.of(), problems);
        }
        problems.add(node, "is " + node.kind(), "a mapping of key: value");
        return new ConfigMap(node, Map.of(), problems);
    }

    public ConfigNode node() {
        return node;
    }

    public Problems problems() {
        return problems;
    }

    public String path() {
        return node.path();
    }

    public boolean has(String key) {
        known.add(key);
        ConfigNode n = entries.get(key);
        return n != null && !(n instanceof ConfigNode.Scalar s && s.isNull());
    }

    public Set<String> keys() {
        return Collections.unmodifiableSet(entries.keySet());
    }

    /** Marks keys as understood without reading them (e.g. sections another process reads). */
    public void known(String... keys) {
        Collections.addAll(known, keys);
    }

    public Optional<ConfigNode> raw(String key) {
        known.add(key);
        ConfigNode n = entries.get(key);
        if (n == null || (n instanceof ConfigNode.Scalar s && s.isNull())) {
            return Optional.empty();
        }
        return Optional.of(n);
    }

    /** Records a problem at the value of {@code key}, or at this mapping when the key is absent. */
    public void error(String key, String message, String expected) {
        ConfigNode at = entries.get(key);
        if (at == null) {
            problems.add(new Problem(node.file(), node.line(), node.column(), childPath(key), message, expected));
        } else {
            problems.add(at, message, expected);
        }
    }

    private String childPath(String key) {
        return node.path().isEmpty() ? key : node.path() + "." + key;
    }

    // ---- scalars ------------------------------------------------------------------------------------------

    private Optional<ConfigNode.Scalar> scalar(String key, String expected) {
        Optional<ConfigNode> n = raw(key);
        if (n.isEmpty()) {
            return Optional.empty();
        }
        if (n.get() instanceof ConfigNode.Scalar s) {
            return Optional.of(s);
        }
        problems.add(n.get(), "is " + n.get().kind(), expected);
        return Optional.empty();
    }

    public String string(String key, String def) {
        return scalar(key, "a string").map(ConfigNode.Scalar::text).orElse(def);
    }

    /** A required string; records "missing" when absent and returns null. */
    public String requireString(String key, String expected) {
        Optional<ConfigNode.Scalar> s = scalar(key, expected);
        if (s.isEmpty()) {
            if (!entries.containsKey(key) || entries.get(key) instanceof ConfigNode.Scalar) {
                error(key, "missing required key '" + key + "'", expected);
            }
            return null;
        }
        if (s.get().text().isBlank()) {
            problems.add(s.get(), "is empty", expected);
            return null;
        }
        return s.get().text();
    }

    public long longValue(String key, long def, long min, long max) {
        Optional<ConfigNode.Scalar> s = scalar(key, "an integer");
        if (s.isEmpty()) {
            return def;
        }
        String range = rangeText(min, max);
        long v;
        try {
            v = Long.parseLong(s.get().text().trim().replace("_", ""));
        } catch (NumberFormatException e) {
            problems.add(s.get(), "'" + s.get().text() + "' is not an integer", "an integer " + range);
            return def;
        }
        if (v < min || v > max) {
            problems.add(s.get(), v + " is out of range", "an integer " + range);
            return def;
        }
        return v;
    }

    public int integer(String key, int def, int min, int max) {
        return (int) longValue(key, def, min, max);
    }

    private static String rangeText(long min, long max) {
        if (max == Long.MAX_VALUE || max == Integer.MAX_VALUE) {
            return ">= " + min;
        }
        return "from " + min + " to " + max;
    }

    public double decimal(String key, double def, double min, double max) {
        Optional<ConfigNode.Scalar> s = scalar(key, "a number");
        if (s.isEmpty()) {
            return def;
        }
        try {
            double v = Double.parseDouble(s.get().text().trim());
            if (v < min || v > max || Double.isNaN(v)) {
                problems.add(s.get(), v + " is out of range", "a number from " + min + " to " + max);
                return def;
            }
            return v;
        } catch (NumberFormatException e) {
            problems.add(s.get(), "'" + s.get().text() + "' is not a number", "a number from " + min + " to " + max);
            return def;
        }
    }

    /** {@code host:port}; {@code defaultPort} &lt; 0 makes the port mandatory. */
    public HostPort hostPort(String key, HostPort def, int defaultPort) {
        Optional<ConfigNode.Scalar> s = scalar(key, HostPort.EXPECTED);
        if (s.isEmpty()) {
            return def;
        }
        return hostPortOf(s.get(), defaultPort, problems).orElse(def);
    }

    public static Optional<HostPort> hostPortOf(ConfigNode.Scalar s, int defaultPort, Problems problems) {
        try {
            return Optional.of(HostPort.parse(s.text(), defaultPort));
        } catch (IllegalArgumentException e) {
            problems.add(s, e.getMessage(), HostPort.EXPECTED);
            return Optional.empty();
        }
    }

    public boolean bool(String key, boolean def) {
        Optional<ConfigNode.Scalar> s = scalar(key, "true or false");
        if (s.isEmpty()) {
            return def;
        }
        return switch (s.get().text().trim().toLowerCase(Locale.ROOT)) {
            case "true", "yes", "on" -> true;
            case "false", "no", "off" -> false;
            default -> {
                problems.add(s.get(), "'" + s.get().text() + "' is not a boolean", "true or false");
                yield def;
            }
        };
    }

    public Duration duration(String key, Duration def) {
        return duration(key, def, Duration.ZERO);
    }

    /** A duration no smaller than {@code min}. */
    public Duration duration(String key, Duration def, Duration min) {
        Optional<ConfigNode.Scalar> s = scalar(key, Units.DURATION_EXPECTED);
        if (s.isEmpty()) {
            return def;
        }
        try {
            Duration d = Units.parseDuration(s.get().text());
            if (d.compareTo(min) < 0 || (min.isZero() && d.isNegative())) {
                problems.add(s.get(), Units.format(d) + " is too small", "at least " + Units.format(min));
                return def;
            }
            if (!min.isZero() && d.isZero()) {
                problems.add(s.get(), "0s is too small", "at least " + Units.format(min));
                return def;
            }
            return d;
        } catch (IllegalArgumentException e) {
            problems.add(s.get(), e.getMessage(), Units.DURATION_EXPECTED);
            return def;
        }
    }

    public long size(String key, long def) {
        Optional<ConfigNode.Scalar> s = scalar(key, Units.SIZE_EXPECTED);
        if (s.isEmpty()) {
            return def;
        }
        try {
            return Units.parseSize(s.get().text());
        } catch (IllegalArgumentException e) {
            problems.add(s.get(), e.getMessage(), Units.SIZE_EXPECTED);
            return def;
        }
    }

    /** An enum constant written by its {@link ConfigEnum#configName()} or its lower-case name ('_' as '-'). */
    public <E extends Enum<E>> E enumValue(String key, Class<E> type, E def) {
        Optional<ConfigNode.Scalar> s = scalar(key, "one of " + String.join(", ", enumNames(type)));
        if (s.isEmpty()) {
            return def;
        }
        return enumOf(s.get(), type, problems).orElse(def);
    }

    public static <E extends Enum<E>> Optional<E> enumOf(ConfigNode.Scalar s, Class<E> type, Problems problems) {
        String text = s.text().trim().toLowerCase(Locale.ROOT);
        for (E e : type.getEnumConstants()) {
            if (enumName(e).equals(text) || e.name().toLowerCase(Locale.ROOT).equals(text.replace('-', '_'))) {
                return Optional.of(e);
            }
        }
        List<String> names = enumNames(type);
        String hint = suggest(text, names).map(x -> "did you mean '" + x + "'? ").orElse("");
        problems.add(s, "unknown value '" + s.text() + "'" + (hint.isEmpty() ? "" : "; " + hint.trim()),
                "one of " + String.join(", ", names));
        return Optional.empty();
    }

    public static <E extends Enum<E>> String enumName(E e) {
        return e instanceof ConfigEnum c ? c.configName() : e.name().toLowerCase(Locale.ROOT).replace('_', '-');
    }

    public static <E extends Enum<E>> List<String> enumNames(Class<E> type) {
        List<String> names = new ArrayList<>();
        for (E e : type.getEnumConstants()) {
            names.add(enumName(e));
        }
        return names;
    }

    // ---- structure ----------------------------------------------------------------------------------------

    /** A nested mapping, if present. */
    public Optional<ConfigMap> map(String key) {
        return raw(key).map(n -> ConfigMap.of(n, problems));
    }

    /** A nested mapping, or an empty view when absent (so defaults apply). */
    public ConfigMap mapOrEmpty(String key) {
        return map(key).orElseGet(() -> new ConfigMap(
                new ConfigNode.Mapping(node.file(), node.line(), node.column(), childPath(key), Map.of(), Map.of()),
                Map.of(), problems));
    }

    /** The items of a list (a single non-list value counts as a one-item list); empty when absent. */
    public List<ConfigNode> list(String key) {
        Optional<ConfigNode> n = raw(key);
        if (n.isEmpty()) {
            return List.of();
        }
        if (n.get() instanceof ConfigNode.Sequence seq) {
            return seq.items();
        }
        return List.of(n.get());
    }

    public List<ConfigMap> mapList(String key) {
        return list(key).stream().map(n -> ConfigMap.of(n, problems)).collect(Collectors.toList());
    }

    public List<String> stringList(String key, List<String> def) {
        if (!has(key)) {
            return def;
        }
        List<String> out = new ArrayList<>();
        for (ConfigNode n : list(key)) {
            if (n instanceof ConfigNode.Scalar s && !s.isNull()) {
                out.add(s.text());
            } else {
                problems.add(n, "is " + n.kind(), "a string");
            }
        }
        return List.copyOf(out);
    }

    /** A mapping of name → mapping (e.g. {@code upstreams: {app: {...}}}), in file order. */
    public Map<String, ConfigMap> namedMaps(String key) {
        Map<String, ConfigMap> out = new LinkedHashMap<>();
        Optional<ConfigNode> n = raw(key);
        if (n.isEmpty()) {
            return out;
        }
        if (!(n.get() instanceof ConfigNode.Mapping m)) {
            problems.add(n.get(), "is " + n.get().kind(), "a mapping of name: settings");
            return out;
        }
        m.entries().forEach((k, v) -> out.put(k, ConfigMap.of(v, problems)));
        return out;
    }

    /** Parses each item of a list with {@code f}, dropping items that failed (their problems are recorded). */
    public <T> List<T> each(String key, Function<ConfigMap, T> f) {
        List<T> out = new ArrayList<>();
        for (ConfigMap m : mapList(key)) {
            T t = f.apply(m);
            m.finish();
            if (t != null) {
                out.add(t);
            }
        }
        return out;
    }

    /** Reports every key that no accessor asked for, with the closest known key as a suggestion. */
    public void finish() {
        if (!(node instanceof ConfigNode.Mapping m)) {
            return;
        }
        for (Map.Entry<String, ConfigNode> e : m.entries().entrySet()) {
            if (known.contains(e.getKey())) {
                continue;
            }
            int[] pos = m.keyPositions().getOrDefault(e.getKey(), new int[] {node.line(), node.column()});
            String hint = suggest(e.getKey(), known).map(s -> "; did you mean '" + s + "'?").orElse("");
            problems.add(new Problem(node.file(), pos[0], pos[1], childPath(e.getKey()),
                    "unknown key '" + e.getKey() + "'" + hint,
                    known.isEmpty() ? "no keys here" : "one of " + String.join(", ", known)));
        }
    }

    /** The candidate closest to {@code word} by edit distance, if it is close enough to be a plausible typo. */
    public static Optional<String> suggest(String word, Iterable<String> candidates) {
        String best = null;
        int bestD = Integer.MAX_VALUE;
        for (String c : candidates) {
            int d = editDistance(word.toLowerCase(Locale.ROOT), c.toLowerCase(Locale.ROOT));
            if (d < bestD) {
                bestD = d;
                best = c;
            }
        }
        if (best == null) {
            return Optional.empty();
        }
        int limit = Math.max(2, Math.min(word.length(), best.length()) / 3);
        return bestD <= limit ? Optional.of(best) : Optional.empty();
    }

    static int editDistance(String a, String b) {
        int[] prev = new int[b.length() + 1];
        int[] cur = new int[b.length() + 1];
        for (int j = 0; j <= b.length(); j++) {
            prev[j] = j;
        }
        for (int i = 1; i <= a.length(); i++) {
            cur[0] = i;
            for (int j = 1; j <= b.length(); j++) {
                int cost = a.charAt(i - 1) == b.charAt(j - 1) ? 0 : 1;
                cur[j] = Math.min(Math.min(cur[j - 1] + 1, prev[j] + 1), prev[j - 1] + cost);
            }
            int[] t = prev;
            prev = cur;
            cur = t;
        }
        return prev[b.length()];
    }
}
