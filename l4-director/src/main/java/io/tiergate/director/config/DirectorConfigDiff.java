package io.tiergate.director.config;

import io.tiergate.director.ha.VrrpReload;
import io.tiergate.director.model.RealServer;
import io.tiergate.director.model.VirtualService;

import static io.tiergate.shared.config.ConfigDiffs.changed;
import static io.tiergate.shared.config.ConfigDiffs.unlisted;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * What a director reload changes, in the words of the config file: {@code applied} takes effect in the reload's
 * engine step (services, real servers, VRRP), {@code needsRestart} names each changed key that the dataplane or the
 * engine took at start. Every component of {@link DirectorConfig} is compared.
 */
public record DirectorConfigDiff(List<String> applied, List<String> needsRestart) {
    public DirectorConfigDiff {
        applied = List.copyOf(applied);
        needsRestart = List.copyOf(needsRestart);
    }

    public static DirectorConfigDiff of(DirectorConfig a, DirectorConfig b) {
        List<String> applied = new ArrayList<>();
        List<String> restart = new ArrayList<>();
        services(a, b, applied);
        if (!a.vrrp().equals(b.vrrp())) {
            if (a.vrrp().isEmpty() || b.vrrp().isEmpty()) {
                applied.add(b.vrrp().isPresent() ? "+vrrp" : "-vrrp");
            } else {
                applied.add(VrrpReload.restartReason(a.vrrp().get(), b.vrrp().get())
                        .map(r -> "vrrp (" + r + ": instance restarted)")
                        .orElse("vrrp " + String.join(", ", VrrpReload.liveChanges(a.vrrp().get(), b.vrrp().get()))));
            }
        }
        // Taken by the dataplane or the engine when they start.
        changed("dataplane", a.dataplane(), b.dataplane(), restart);
        changed("interface", a.interfaceName(), b.interfaceName(), restart);
        changed("hash_seed", a.hashSeed(), b.hashSeed(), restart);
        changed("maglev_size", a.maglevSize(), b.maglevSize(), restart);
        changed("flow_table", a.flowTable(), b.flowTable(), restart);
        changed("sync", a.sync(), b.sync(), restart);
        changed("repair_interval", a.repairInterval(), b.repairInterval(), restart);
        changed("resolve_interval", a.resolveInterval(), b.resolveInterval(), restart);
        changed("connect_timeout", a.connectTimeout(), b.connectTimeout(), restart);
        changed("udp_idle_timeout", a.udpIdleTimeout(), b.udpIdleTimeout(), restart);
        // admin: moved by the director when it runs one before and after; turning it on or off needs a restart
        if (!a.admin().equals(b.admin()) && (a.admin().isEmpty() || b.admin().isEmpty())) {
            restart.add("admin (on/off)");
        }
        unlisted(a, b, COMPARED, restart);
        return new DirectorConfigDiff(applied, restart);
    }

    /** The components compared above; a component added to the config later is reported by ConfigDiffs.unlisted. */
    private static final java.util.Set<String> COMPARED = java.util.Set.of(
            "dataplane", "interfaceName", "hashSeed", "maglevSize", "repairInterval", "resolveInterval", "connectTimeout", "udpIdleTimeout", "admin", "services", "flowTable", "sync", "vrrp");

    private static void services(DirectorConfig a, DirectorConfig b, List<String> out) {
        Map<String, VirtualService> was = new LinkedHashMap<>();
        a.services().forEach(s -> was.put(s.name(), s));
        for (VirtualService s : b.services()) {
            VirtualService old = was.remove(s.name());
            if (old == null) {
                out.add("+service " + s.name() + " " + s.key());
                continue;
            }
            List<String> before = old.realServers().stream().map(RealServer::id).toList();
            List<String> after = s.realServers().stream().map(RealServer::id).toList();
            after.stream().filter(id -> !before.contains(id))
                    .forEach(id -> out.add("+service " + s.name() + " real server " + id));
            before.stream().filter(id -> !after.contains(id))
                    .forEach(id -> out.add("-service " + s.name() + " real server " + id));
            if (before.equals(after) && !old.equals(s)) {
                out.add("service " + s.name() + " settings");
            }
        }
        was.values().forEach(s -> out.add("-service " + s.name() + " " + s.key()));
    }
}
