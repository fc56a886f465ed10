package io.tiergate.proxy.limit;

import io.tiergate.shared.config.ConfigMap;
import io.tiergate.shared.config.ConfigNode;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The node's shared counting zones (nginx {@code limit_req_zone} and {@code limit_conn_zone}), named once under
 * {@code proxy:} and referred to by name from servers and locations. A zone is one table for the whole node: every
 * event loop counts into the same entry for a key.
 */
public record Zones(Map<String, RateZone> rate, Map<String, ConnZone> conn) {
    public static final Zones NONE = new Zones(Map.of(), Map.of());

    /** {@code size}: how many keys the table holds at most (least recently used keys are dropped first). */
    public record RateZone(String name, LimitKey key, double perSecond, String rateText, int size) {
    }

    public record ConnZone(String name, LimitKey key, int size) {
    }

    public Zones {
        rate = Collections.unmodifiableMap(new LinkedHashMap<>(rate));
        conn = Collections.unmodifiableMap(new LinkedHashMap<>(conn));
    }

    private static final Pattern RATE = Pattern.compile("(\\d{1,9})\\s*r/(s|m)");
    static final int DEFAULT_SIZE = 100_000;

    public static Zones parse(ConfigMap section) {
        Map<String, RateZone> rate = new LinkedHashMap<>();
        section.namedMaps("limit_req_zones").forEach((name, m) -> {
            LimitKey key = key(m);
            String text = m.requireString("rate", "a rate like 10r/s or 300r/m");
            double perSecond = 0;
            if (text != null) {
                Matcher r = RATE.matcher(text.trim());
                if (!r.matches() || Long.parseLong(r.group(1)) == 0) {
                    m.error("rate", "'" + text + "' is not a rate", "requests per second or minute, e.g. 10r/s or 300r/m");
                } else {
                    perSecond = Long.parseLong(r.group(1)) / (r.group(2).equals("s") ? 1.0 : 60.0);
                }
            }
            int size = m.integer("size", DEFAULT_SIZE, 1, 100_000_000);
            m.finish();
            if (key != null && perSecond > 0) {
                rate.put(name, new RateZone(name, key, perSecond, text.trim(), size));
            }
        });
        Map<String, ConnZone> conn = new LinkedHashMap<>();
        section.namedMaps("limit_conn_zones").forEach((name, m) -> {
            LimitKey key = key(m);
            int size = m.integer("size", DEFAULT_SIZE, 1, 100_000_000);
            m.finish();
            if (key != null) {
                conn.put(name, new ConnZone(name, key, size));
            }
        });
        return rate.isEmpty() && conn.isEmpty() ? NONE : new Zones(rate, conn);
    }

    private static LimitKey key(ConfigMap m) {
        List<ConfigNode> items = m.list("key");
        if (items.isEmpty()) {
            m.error("key", "a zone needs a key", LimitKey.EXPECTED);
            return null;
        }
        List<LimitKey.Part> parts = new ArrayList<>();
        for (ConfigNode n : items) {
            LimitKey.Part p = n instanceof ConfigNode.Scalar s && !s.isNull() ? LimitKey.part(s.text()) : null;
            if (p == null) {
                m.problems().add(n, "'" + (n instanceof ConfigNode.Scalar s ? s.text() : n.kind()) + "' is not a key",
                        LimitKey.EXPECTED);
            } else {
                parts.add(p);
            }
        }
        return parts.size() == items.size() ? new LimitKey(parts) : null;
    }
}
