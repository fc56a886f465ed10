package io.tiergate.director.admin;

import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import io.tiergate.director.engine.DirectorStatus;
import io.tiergate.director.engine.HaStatus;
import io.tiergate.director.engine.ServiceStatus;
import io.tiergate.director.engine.ServiceStatus.RealServerStatus;
import io.tiergate.shared.metrics.GaugeRows;
import io.tiergate.shared.metrics.ReloadMetrics;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.ToLongFunction;

/**
 * Every director meter, in one place (each is listed in docs/metrics.md): real servers (weight, health, connections,
 * packets, bytes), services (quorum, sorry server), the dataplane, VRRP (state, priority, transitions) and reloads.
 * Values come from the engine's status, refreshed once a second, so a scrape never waits on the engine thread.
 *
 * <p>Prometheus conventions: running totals are counters ending in {@code _total}; a value the dataplane cannot tell
 * (the kernel keeps no such counter) leaves its series out instead of exporting -1; rows of real servers and services
 * come and go with the config.
 */
public final class DirectorMetrics {
    private static final List<String> VRRP_STATES = List.of("INIT", "BACKUP", "MASTER", "FAULT");

    private final MeterRegistry registry;
    private final ReloadMetrics reloads;
    private final Map<String, GaugeRows> gauges = new LinkedHashMap<>();
    private final Map<String, RowValue<RealServerStatus>> rsGauges = new LinkedHashMap<>();
    private final Map<String, RowValue<ServiceStatus>> serviceGauges = new LinkedHashMap<>();
    private final Map<String, RowValue<HaStatus>> haGauges = new LinkedHashMap<>();
    private final Map<String, ToLongFunction<RealServerStatus>> rsCounters = new LinkedHashMap<>();
    /** Registered counter → the value it reads; keyed by name + tags. */
    private final Map<List<String>, CounterCell> counters = new HashMap<>();

    private record RowValue<T>(String help, java.util.function.ToDoubleFunction<T> f) {
    }

    private record CounterCell(AtomicLong value, Meter meter) {
    }

    public DirectorMetrics(MeterRegistry registry) {
        this.registry = registry;
        this.reloads = new ReloadMetrics(registry);
        rs("tiergate_director_real_server_weight", "Weight the dataplane uses now (0 while drained, down or below"
                + " quorum with on_failure weight0)", r -> r.effectiveWeight());
        rs("tiergate_director_real_server_configured_weight", "Weight from the config", r -> r.weight());
        rs("tiergate_director_real_server_up", "1 when the health check says up (or the server is not checked), 0"
                + " when down", r -> r.health().equals("down") ? 0 : 1);
        rs("tiergate_director_real_server_drained", "1 while drained by the admin API", r -> r.drained() ? 1 : 0);
        rs("tiergate_director_real_server_active_connections", "Established connections (absent when the dataplane"
                + " cannot tell)", r -> r.activeConnections());
        rsCounters.put("tiergate_director_real_server_connections_total", RealServerStatus::connections);
        rsCounters.put("tiergate_director_real_server_received_packets_total", RealServerStatus::packetsIn);
        rsCounters.put("tiergate_director_real_server_sent_packets_total", RealServerStatus::packetsOut);
        rsCounters.put("tiergate_director_real_server_received_bytes_total", RealServerStatus::bytesIn);
        rsCounters.put("tiergate_director_real_server_sent_bytes_total", RealServerStatus::bytesOut);
        service("tiergate_director_service_quorum_up", "1 when at least 'quorum' real servers can take traffic",
                s -> s.quorumMet() ? 1 : 0);
        service("tiergate_director_service_sorry_server_active", "1 while traffic goes to the sorry server",
                s -> s.sorryActive() ? 1 : 0);
        service("tiergate_director_service_real_servers_up", "Real servers of the service that are up",
                s -> s.realServers().stream().filter(r -> !r.sorry() && !r.health().equals("down")).count());
        ha("tiergate_director_vrrp_priority", "Priority advertised now (lowered while unhealthy)", h -> h.priority());
        ha("tiergate_director_vrrp_configured_priority", "Priority from the config", h -> h.configuredPriority());
        ha("tiergate_director_vrrp_healthy", "1 when this director can serve (what it tells VRRP)",
                h -> h.healthy() ? 1 : 0);
        gauge("tiergate_director_vrrp_state", "1 for the VRRP state the instance is in, 0 for the others");
        gauge("tiergate_director_dataplane_selected",
                "1, labelled with the running dataplane (Micrometer reserves the _info suffix)");
        gauge("tiergate_director_dataplane_healthy",
                "1 when the last engine step applied to the dataplane, 0 while it fails (retried)");
    }

    private void rs(String name, String help, java.util.function.ToDoubleFunction<RealServerStatus> f) {
        gauge(name, help);
        rsGauges.put(name, new RowValue<>(help, f));
    }

    private void service(String name, String help, java.util.function.ToDoubleFunction<ServiceStatus> f) {
        gauge(name, help);
        serviceGauges.put(name, new RowValue<>(help, f));
    }

    private void ha(String name, String help, java.util.function.ToDoubleFunction<HaStatus> f) {
        gauge(name, help);
        haGauges.put(name, new RowValue<>(help, f));
    }

    private void gauge(String name, String help) {
        gauges.put(name, new GaugeRows(registry, name, help));
    }

    public ReloadMetrics reloads() {
        return reloads;
    }

    /** Brings every series in line with {@code status}: new rows appear at once, removed ones disappear. */
    public synchronized void update(DirectorStatus status) {
        rsGauges.forEach((name, v) -> {
            Map<Tags, Double> rows = new LinkedHashMap<>();
            for (ServiceStatus s : status.services()) {
                for (RealServerStatus r : s.realServers()) {
                    double value = v.f().applyAsDouble(r);
                    if (value >= 0) {
                        rows.put(rsTags(s, r), value);
                    }
                }
            }
            set(name, rows);
        });
        serviceGauges.forEach((name, v) -> {
            Map<Tags, Double> rows = new LinkedHashMap<>();
            for (ServiceStatus s : status.services()) {
                rows.put(Tags.of("service", s.name(), "vip", s.key().toString()), v.f().applyAsDouble(s));
            }
            set(name, rows);
        });
        HaStatus h = status.ha();
        haGauges.forEach((name, v) -> set(name, h == null ? Map.of() : Map.of(haTags(h), v.f().applyAsDouble(h))));
        Map<Tags, Double> states = new LinkedHashMap<>();
        if (h != null) {
            for (String st : VRRP_STATES) {
                states.put(haTags(h).and("state", st), st.equals(h.state()) ? 1.0 : 0.0);
            }
        }
        set("tiergate_director_vrrp_state", states);
        set("tiergate_director_dataplane_selected", Map.of(Tags.of("dataplane", status.dataplane()), 1.0));
        set("tiergate_director_dataplane_healthy", Map.of(Tags.empty(),
                status.lastError() == null || status.lastError().isEmpty() ? 1.0 : 0.0));

        Set<List<String>> seen = new HashSet<>();
        for (ServiceStatus s : status.services()) {
            for (RealServerStatus r : s.realServers()) {
                rsCounters.forEach((name, f) -> {
                    long value = f.applyAsLong(r);
                    if (value >= 0) {
                        seen.add(counter(name, "Running total from the dataplane (resets when the kernel's entry is"
                                + " recreated)", rsTags(s, r), value));
                    }
                });
            }
        }
        if (h != null) {
            seen.add(counter("tiergate_director_vrrp_transitions_total", "VRRP state changes since start",
                    haTags(h), h.roleChanges()));
        }
        counters.entrySet().removeIf(e -> {
            if (!seen.contains(e.getKey())) {
                registry.remove(e.getValue().meter());
                return true;
            }
            return false;
        });
    }

    /** Sets the rows of gauge {@code name}: a row that stays keeps its meter (see GaugeRows). */
    private void set(String name, Map<Tags, Double> values) {
        gauges.get(name).setValues(values);
    }

    private List<String> counter(String name, String help, Tags tags, long value) {
        List<String> key = new ArrayList<>();
        key.add(name);
        tags.forEach(t -> {
            key.add(t.getKey());
            key.add(t.getValue());
        });
        CounterCell cell = counters.computeIfAbsent(key, k -> {
            AtomicLong v = new AtomicLong();
            // Micrometer appends _total to a counter's name in the Prometheus format
            String base = name.substring(0, name.length() - "_total".length());
            return new CounterCell(v, FunctionCounter.builder(base, v, AtomicLong::doubleValue).description(help)
                    .tags(tags).register(registry));
        });
        cell.value().set(value);
        return key;
    }

    private static Tags rsTags(ServiceStatus s, RealServerStatus r) {
        return Tags.of("service", s.name(), "vip", s.key().toString(), "real_server", r.id());
    }

    private static Tags haTags(HaStatus h) {
        return Tags.of("vrid", String.valueOf(h.vrid()), "interface", h.interfaceName());
    }
}
