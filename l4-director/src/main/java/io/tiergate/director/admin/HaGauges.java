package io.tiergate.director.admin;

import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.MultiGauge;
import io.micrometer.core.instrument.Tags;
import io.tiergate.director.engine.DirectorStatus;
import io.tiergate.director.engine.HaStatus;

import java.util.List;
import java.util.concurrent.atomic.AtomicLong;

/**
 * VRRP as Prometheus sees it, refreshed with the other director gauges: {@code tiergate_director_vrrp_master} (1 on
 * the master, 0 otherwise; no series without a {@code vrrp:} section), {@code tiergate_director_vrrp_priority} and
 * {@code tiergate_director_vrrp_role_changes_total}. The alert rules use them for "state changed" and "no master"
 * (the maximum over both directors of a vrid is 0).
 */
final class HaGauges {
    private final MultiGauge master;
    private final MultiGauge priority;
    private final AtomicLong roleChanges = new AtomicLong();
    private long lastSeen; // the instance's own count at the last update (only the refresh timer writes it)

    HaGauges(MeterRegistry registry) {
        master = MultiGauge.builder("tiergate_director_vrrp_master")
                .description("1 when this director is VRRP master of the vrid, 0 in BACKUP, FAULT or INIT")
                .register(registry);
        priority = MultiGauge.builder("tiergate_director_vrrp_priority")
                .description("VRRP priority advertised now (lower than configured while unhealthy)")
                .register(registry);
        FunctionCounter.builder("tiergate_director_vrrp_role_changes", roleChanges, AtomicLong::doubleValue)
                .description("VRRP state changes since start").register(registry);
    }

    void update(DirectorStatus status) {
        HaStatus ha = status.ha();
        if (ha == null) {
            master.register(List.of(), true);
            priority.register(List.of(), true);
            return;
        }
        Tags tags = Tags.of("vrid", Integer.toString(ha.vrid()), "interface", ha.interfaceName());
        master.register(List.of(MultiGauge.Row.of(tags, "MASTER".equals(ha.state()) ? 1 : 0)), true);
        priority.register(List.of(MultiGauge.Row.of(tags, ha.priority())), true);
        // A restarted instance (a reload changed its vrid) counts from 0 again; the counter never goes back.
        long now = ha.roleChanges();
        roleChanges.addAndGet(now >= lastSeen ? now - lastSeen : now);
        lastSeen = now;
    }
}
