package io.tiergate.proxy.limit;

import io.tiergate.shared.config.ConfigMap;

/**
 * One nginx {@code limit_conn}: at most {@code max} requests of one key in progress at once (counted from the request
 * head to the end of the response, each HTTP/2 stream separately, as nginx counts them). Over it: {@code status}.
 */
public record LimitConn(Zones.ConnZone zone, int max, int status, boolean dryRun) {

    public static LimitConn parse(ConfigMap m, Zones zones) {
        String name = m.requireString("zone", "the name of a zone under limit_conn_zones:");
        int max = m.integer("max", 0, 1, 1_000_000);
        if (!m.has("max")) {
            m.error("max", "missing required key 'max'", "the number of requests in progress allowed per key, e.g. 10");
        }
        int status = m.integer("status", 429, 400, 599);
        boolean dryRun = m.bool("dry_run", false);
        Zones.ConnZone zone = name == null ? null : zones.conn().get(name);
        if (name != null && zone == null) {
            String hint = ConfigMap.suggest(name, zones.conn().keySet()).map(s -> "; did you mean '" + s + "'?").orElse("");
            m.error("zone", "unknown limit_conn zone '" + name + "'" + hint, zones.conn().isEmpty()
                    ? "a zone defined under proxy.limit_conn_zones:" : "one of " + String.join(", ", zones.conn().keySet()));
        }
        return zone == null || max < 1 ? null : new LimitConn(zone, max, status, dryRun);
    }
}
