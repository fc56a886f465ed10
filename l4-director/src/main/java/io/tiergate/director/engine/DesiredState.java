package io.tiergate.director.engine;

import io.tiergate.director.dataplane.DataplaneService;
import io.tiergate.director.dataplane.Destination;
import io.tiergate.director.model.OnFailure;
import io.tiergate.director.model.ServiceKey;
import io.tiergate.director.model.VirtualService;
import io.tiergate.shared.health.HealthState;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Pure policy (keepalived's "ipwrapper" layer): from configured services, their resolved members, health and operator
 * drains, what every service should look like in the dataplane. No I/O, so every rule is unit-tested directly.
 *
 * <p>A member not probed yet (UNKNOWN) counts as up: a restarted director must compute exactly what the previous one
 * left in the kernel, or it would move flows before the first probe even ran. A member that joins a running director
 * (a reload adds it, or its DNS name starts resolving to a new address: a scaled-up container) is {@code pending}
 * instead, out of rotation until its first verdict: sending a new connection to a server that may not listen yet
 * resets it (keepalived's {@code alpha} behaviour, applied to late joiners only).
 */
final class DesiredState {
    final Map<ServiceKey, DataplaneService> services;
    final List<ServiceStatus> status;

    private DesiredState(Map<ServiceKey, DataplaneService> services, List<ServiceStatus> status) {
        this.services = services;
        this.status = status;
    }

    static DesiredState compute(List<VirtualService> configured, Map<String, List<Member>> membersByService,
                                Map<String, HealthState> health, Set<String> drained, Set<String> pending) {
        Map<ServiceKey, DataplaneService> out = new LinkedHashMap<>();
        List<ServiceStatus> status = new ArrayList<>();
        for (VirtualService vs : configured) {
            List<Member> members = membersByService.getOrDefault(vs.name(), List.of());
            List<Destination> dests = new ArrayList<>();
            List<ServiceStatus.RealServerStatus> rows = new ArrayList<>();
            int usable = 0;
            for (Member m : members) {
                boolean isDrained = drained.contains(vs.name() + "/" + m.server().id())
                        || drained.contains(m.healthId());
                HealthState h = m.server().healthCheck().isEmpty() ? null
                        : health.getOrDefault(m.healthId(), HealthState.UNKNOWN);
                boolean waiting = h == HealthState.UNKNOWN && pending.contains(m.healthId());
                boolean down = h == HealthState.DOWN || waiting;
                int effective = isDrained || down ? 0 : m.server().weight();
                boolean present = !(down && vs.onFailure() == OnFailure.REMOVE);
                if (present) {
                    dests.add(new Destination(m.address(), m.port(), effective));
                }
                if (effective > 0) {
                    usable++;
                }
                rows.add(new ServiceStatus.RealServerStatus(m.destinationId(), m.server().id(), m.server().weight(),
                        present ? effective : 0, h == null ? "unchecked" : waiting ? "pending" : h.name().toLowerCase(), isDrained, present,
                        false, -1, -1, -1, -1, -1, -1, -1));
            }
            boolean quorumMet = usable >= Math.max(1, vs.quorum()) || (vs.quorum() == 0);
            boolean sorry = false;
            if (!quorumMet && vs.sorryServer().isPresent()) {
                // Below quorum the sorry server takes all new traffic; the real servers stay at weight 0 so flows
                // already on them (IPVS/NAT conntrack/userspace) finish instead of being cut.
                sorry = true;
                List<Destination> quiesced = new ArrayList<>();
                for (Destination d : dests) {
                    quiesced.add(new Destination(d.address(), d.port(), 0));
                }
                dests = quiesced;
                var sorryHp = vs.sorryServer().get();
                dests.removeIf(d -> d.address().equals(sorryHp.host()) && d.port() == sorryHp.port());
                dests.add(new Destination(sorryHp.host(), sorryHp.port(), 1));
                rows.add(new ServiceStatus.RealServerStatus(sorryHp.toString(), sorryHp.toString(), 1, 1, "unchecked",
                        false, true, true, -1, -1, -1, -1, -1, -1, -1));
            }
            DataplaneService ds = new DataplaneService(vs.key(), vs.scheduler(), vs.method(), vs.persistence(),
                    vs.proxyProtocol(), dests);
            out.put(vs.key(), ds);
            status.add(new ServiceStatus(vs.name(), vs.key(), vs.scheduler().configName(), vs.method().configName(),
                    vs.quorum(), quorumMet, sorry, vs.sorryServer().map(Object::toString).orElse(""), List.copyOf(rows)));
        }
        return new DesiredState(out, List.copyOf(status));
    }
}
