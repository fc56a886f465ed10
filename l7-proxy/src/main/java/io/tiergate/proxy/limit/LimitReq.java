package io.tiergate.proxy.limit;

import io.tiergate.shared.config.ConfigMap;

/**
 * One nginx {@code limit_req} in a server or location: up to {@code burst} requests over the zone's rate are
 * accepted; of those the first {@code delay} pass at once and the rest are delayed to the rate ({@code nodelay}: all
 * pass at once). Beyond the burst: {@code status} (429 by default) with a {@code Retry-After}. {@code dryRun}
 * (nginx {@code limit_req_dry_run}) only counts and logs.
 */
public record LimitReq(Zones.RateZone zone, int burst, int delay, boolean nodelay, int status, boolean dryRun) {

    /** Parses one item of {@code limit_req:}; null (problem recorded) when it names no defined zone. */
    public static LimitReq parse(ConfigMap m, Zones zones) {
        String name = m.requireString("zone", "the name of a zone under limit_req_zones:");
        int burst = m.integer("burst", 0, 0, 1_000_000);
        boolean nodelay = m.bool("nodelay", false);
        int delay = m.integer("delay", 0, 0, 1_000_000);
        if (nodelay && m.has("delay")) {
            m.error("delay", "delay and nodelay together", "either nodelay: true (no request is delayed) or delay: N");
        }
        if (delay > burst) {
            m.error("delay", "delay " + delay + " is larger than burst " + burst, "0 <= delay <= burst");
        }
        int status = m.integer("status", 429, 400, 599);
        boolean dryRun = m.bool("dry_run", false);
        Zones.RateZone zone = name == null ? null : zones.rate().get(name);
        if (name != null && zone == null) {
            String hint = ConfigMap.suggest(name, zones.rate().keySet()).map(s -> "; did you mean '" + s + "'?").orElse("");
            m.error("zone", "unknown limit_req zone '" + name + "'" + hint, zones.rate().isEmpty()
                    ? "a zone defined under proxy.limit_req_zones:" : "one of " + String.join(", ", zones.rate().keySet()));
        }
        return zone == null ? null : new LimitReq(zone, burst, delay, nodelay, status, dryRun);
    }
}
