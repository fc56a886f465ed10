package io.tiergate.director.dataplane.ipvs;

import io.tiergate.director.dataplane.Changeset;
import io.tiergate.director.dataplane.Dataplane;
import io.tiergate.director.dataplane.DataplaneException;
import io.tiergate.director.dataplane.DataplaneKind;
import io.tiergate.director.dataplane.DataplaneService;
import io.tiergate.director.dataplane.Destination;
import io.tiergate.director.dataplane.DestinationCounters;
import io.tiergate.director.model.ConnectionSync;
import io.tiergate.director.model.ForwardingMethod;
import io.tiergate.director.model.Persistence;
import io.tiergate.director.model.Protocol;
import io.tiergate.director.model.Role;
import io.tiergate.director.model.Scheduler;
import io.tiergate.director.model.ServiceKey;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The engine's model on top of {@link IpvsClient} (keepalived's "ipvswrapper" layer): services read back from the
 * kernel become {@link DataplaneService}s with the same fingerprint the engine computes, and a changeset becomes the
 * minimal netlink changes — per service, new/set service and new/set/del destination against what the kernel holds,
 * sent pipelined in one {@link IpvsClient#apply} call. A real server at weight 0 stays in the table, so the kernel's
 * connection entries keep established flows on it (quiescence), exactly like {@code ipvsadm -e -w 0}.
 *
 * <p>The director owns the IPVS table: a service in the kernel that the config doesn't name is deleted, as keepalived
 * does. IPVS keeps no note of our fingerprints; what cannot be read back (the forwarding method of a service without
 * destinations, the protocol of a fwmark service) is remembered from the last apply.
 */
public final class IpvsDataplane implements Dataplane {
    private static final Logger log = LoggerFactory.getLogger(IpvsDataplane.class);

    private final IpvsClient ipvs;
    /** What the kernel holds, as of the last read or successful apply: the diff base of the next apply. */
    private final Map<ServiceKey, Held> held = new LinkedHashMap<>();
    private final Map<ServiceKey, ForwardingMethod> methods = new HashMap<>();
    private final Map<Integer, Protocol> fwmarkProtocols = new HashMap<>();

    private record Held(IpvsService service, List<IpvsDestination> destinations) {
    }

    IpvsDataplane(IpvsClient ipvs) {
        this.ipvs = ipvs;
    }

    /** Opens the netlink socket; fails with the client's advice (modprobe ip_vs, needs root) when it cannot. */
    public static IpvsDataplane open() throws DataplaneException {
        try {
            return new IpvsDataplane(IpvsClient.open());
        } catch (RuntimeException e) {
            throw new DataplaneException("the ipvs dataplane cannot start: " + e.getMessage(), e);
        }
    }

    /** Why ipvs cannot be used here, or empty. Tries {@code modprobe ip_vs} once when the family is missing. */
    public static Optional<String> unavailableReason() {
        try {
            if (IpvsClient.available()) {
                return Optional.empty();
            }
            Process p = new ProcessBuilder("modprobe", "ip_vs").redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes()).trim();
            boolean ok = p.waitFor(10, java.util.concurrent.TimeUnit.SECONDS) && p.exitValue() == 0;
            if (ok && IpvsClient.available()) {
                return Optional.empty();
            }
            return Optional.of("the kernel has no IPVS and `modprobe ip_vs` " + (ok ? "did not add it" : "failed"
                    + (out.isEmpty() ? "" : ": " + out.lines().findFirst().orElse(""))));
        } catch (Throwable t) {
            return Optional.of("the kernel has no IPVS (" + t.getMessage() + ")");
        }
    }

    @Override
    public DataplaneKind kind() {
        return DataplaneKind.IPVS;
    }

    @Override
    public Map<ServiceKey, String> read() throws DataplaneException {
        Map<ServiceKey, String> out = new LinkedHashMap<>();
        held.clear();
        try {
            for (IpvsService s : ipvs.services()) {
                List<IpvsDestination> dests = ipvs.destinations(s);
                ServiceKey key = key(s);
                held.put(key, new Held(s, dests));
                out.put(key, model(key, s, dests).map(DataplaneService::fingerprint)
                        .orElse("unmanaged scheduler " + s.scheduler()));
            }
        } catch (RuntimeException e) {
            throw new DataplaneException("reading IPVS: " + e.getMessage(), e);
        }
        return out;
    }

    @Override
    public void apply(Changeset changes) throws DataplaneException {
        List<IpvsClient.Change> batch = new ArrayList<>();
        Map<ServiceKey, Held> after = new LinkedHashMap<>();
        for (ServiceKey k : changes.deletes()) {
            Held h = held.get(k);
            if (h != null) {
                batch.add(IpvsClient.Change.delService(h.service()));
            }
        }
        for (DataplaneService s : changes.upserts()) {
            IpvsService want = service(s);
            Held was = held.get(s.key());
            if (was != null && !sameSettings(was.service(), want)) {
                batch.add(IpvsClient.Change.setService(want));
            } else if (was == null) {
                batch.add(IpvsClient.Change.newService(want));
            }
            Map<String, IpvsDestination> existing = new HashMap<>();
            if (was != null) {
                was.destinations().forEach(d -> existing.put(d.describe(), d));
            }
            List<IpvsDestination> dests = new ArrayList<>();
            for (Destination d : s.destinations()) {
                IpvsDestination wantDest = destination(d, s.method());
                dests.add(wantDest);
                IpvsDestination have = existing.remove(wantDest.describe());
                if (have == null) {
                    batch.add(IpvsClient.Change.newDest(want, wantDest));
                } else if (have.weight() != wantDest.weight() || have.forwarding() != wantDest.forwarding()) {
                    batch.add(IpvsClient.Change.setDest(want, wantDest));
                }
            }
            for (IpvsDestination gone : existing.values()) {
                batch.add(IpvsClient.Change.delDest(want, gone));
            }
            after.put(s.key(), new Held(want, dests));
        }
        if (batch.isEmpty()) {
            return;
        }
        long t0 = System.nanoTime();
        List<IpvsException> failures;
        try {
            failures = ipvs.apply(batch);
        } catch (RuntimeException e) {
            held.clear();
            throw new DataplaneException("IPVS: " + e.getMessage(), e);
        }
        if (!failures.isEmpty()) {
            // Each change stands alone in IPVS: the others did land. Forget the diff base; the engine re-reads.
            held.clear();
            List<String> why = failures.stream().map(Throwable::getMessage).distinct().toList();
            throw new DataplaneException(failures.size() + " of " + batch.size() + " IPVS change(s) failed: "
                    + String.join("; ", why));
        }
        changes.deletes().forEach(k -> {
            held.remove(k);
            methods.remove(k);
        });
        after.forEach(held::put);
        for (DataplaneService s : changes.upserts()) {
            methods.put(s.key(), s.method());
            if (s.key().byFwmark()) {
                fwmarkProtocols.put(s.key().fwmark(), s.key().protocol());
            }
        }
        log.debug("ipvs: {} change(s) applied in {} us", batch.size(), (System.nanoTime() - t0) / 1000);
    }

    @Override
    public Map<ServiceKey, Map<String, DestinationCounters>> counters() {
        Map<ServiceKey, Map<String, DestinationCounters>> out = new LinkedHashMap<>();
        try {
            for (IpvsService s : ipvs.services()) {
                Map<String, DestinationCounters> rows = new LinkedHashMap<>();
                for (IpvsDestination d : ipvs.destinations(s)) {
                    IpvsStats st = d.stats();
                    rows.put(new Destination(d.address().getHostAddress(), d.port(), 0).id(),
                            new DestinationCounters(d.activeConnections(), d.inactiveConnections(), st.connections(),
                                    st.inPackets(), st.outPackets(), st.inBytes(), st.outBytes()));
                }
                out.put(key(s), rows);
            }
        } catch (RuntimeException e) {
            log.debug("ipvs counters unavailable: {}", e.getMessage());
        }
        return out;
    }

    /**
     * Master sends the connection table, backup applies it. Kernel daemons are left running on close (a restarted
     * director must not interrupt sync); a role change stops the other kind first.
     */
    @Override
    public void role(Role role, Optional<ConnectionSync> sync) throws DataplaneException {
        IpvsDaemon.State want = role == Role.MASTER ? IpvsDaemon.State.MASTER : IpvsDaemon.State.BACKUP;
        try {
            List<IpvsDaemon> running = ipvs.daemons();
            for (IpvsDaemon d : running) {
                boolean keep = sync.isPresent() && d.state() == want
                        && d.interfaceName().equals(sync.get().interfaceName()) && d.syncId() == sync.get().syncId();
                if (!keep) {
                    ipvs.delDaemon(d.state());
                    log.info("ipvs sync daemon {} on {} (syncid {}) stopped", d.state(), d.interfaceName(), d.syncId());
                }
            }
            if (sync.isEmpty()) {
                return;
            }
            boolean present = ipvs.daemons().stream().anyMatch(d -> d.state() == want);
            if (!present) {
                ipvs.newDaemon(IpvsDaemon.of(want, sync.get().interfaceName(), sync.get().syncId()));
                log.info("ipvs sync daemon {} on {} (syncid {}) started", want, sync.get().interfaceName(),
                        sync.get().syncId());
            }
        } catch (RuntimeException e) {
            throw new DataplaneException("IPVS sync daemon (" + want + "): " + e.getMessage(), e);
        }
    }

    @Override
    public void close() {
        ipvs.close();
    }

    // --- mapping between the engine's model and IPVS ---------------------------------------------

    ServiceKey key(IpvsService s) {
        if (s.isFwmark()) {
            return ServiceKey.fwmark(fwmarkProtocols.getOrDefault(s.fwmark(), Protocol.TCP), s.fwmark());
        }
        Protocol p = s.protocol() == IpvsProtocol.UDP ? Protocol.UDP : Protocol.TCP;
        return ServiceKey.of(p, s.address().getHostAddress(), s.port());
    }

    /** The model of a kernel service, or empty when it uses something the config cannot say (a foreign scheduler). */
    Optional<DataplaneService> model(ServiceKey key, IpvsService s, List<IpvsDestination> dests) {
        Optional<Scheduler> scheduler = schedulerOf(s.scheduler());
        if (scheduler.isEmpty()) {
            return Optional.empty();
        }
        ForwardingMethod method = dests.isEmpty() ? methods.getOrDefault(key, ForwardingMethod.DIRECT_ROUTE)
                : methodOf(dests.get(0).forwarding());
        Persistence persistence = s.persistent()
                ? new Persistence(Duration.ofSeconds(s.timeoutSeconds()), Math.min(32, s.netmaskPrefix()))
                : Persistence.NONE;
        List<Destination> out = new ArrayList<>();
        for (IpvsDestination d : dests) {
            out.add(new Destination(d.address().getHostAddress(), d.port(), d.weight()));
        }
        return Optional.of(new DataplaneService(key, scheduler.get(), method, persistence, false, out));
    }

    static IpvsService service(DataplaneService s) throws DataplaneException {
        ServiceKey k = s.key();
        IpvsService.Builder b;
        if (k.byFwmark()) {
            b = IpvsService.fwmark(IpvsFamily.INET, k.fwmark());
        } else {
            InetAddress vip = address(k.vip());
            b = k.protocol() == Protocol.UDP ? IpvsService.udp(vip, k.port()) : IpvsService.tcp(vip, k.port());
        }
        b.scheduler(s.scheduler().configName());
        if (s.persistence().enabled()) {
            b.persistent((int) Math.max(1, s.persistence().timeout().toSeconds()));
            b.netmaskPrefix(s.persistence().prefixLength() == 0 ? 32 : s.persistence().prefixLength());
        }
        return b.build();
    }

    static IpvsDestination destination(Destination d, ForwardingMethod method) throws DataplaneException {
        return IpvsDestination.builder(address(d.address()), d.port()).forwarding(forwarding(method))
                .weight(d.weight()).build();
    }

    static IpvsForwarding forwarding(ForwardingMethod m) {
        return switch (m) {
            case DIRECT_ROUTE -> IpvsForwarding.ROUTE;
            case NAT -> IpvsForwarding.MASQ;
            case TUNNEL -> IpvsForwarding.TUNNEL;
        };
    }

    static ForwardingMethod methodOf(IpvsForwarding f) {
        return switch (f) {
            case MASQ -> ForwardingMethod.NAT;
            case TUNNEL -> ForwardingMethod.TUNNEL;
            default -> ForwardingMethod.DIRECT_ROUTE;
        };
    }

    /** ipvsadm names are the config's names (maglev is {@code mh} in both). */
    static Optional<Scheduler> schedulerOf(String name) {
        for (Scheduler s : Scheduler.values()) {
            if (s.configName().equals(name)) {
                return Optional.of(s);
            }
        }
        return Optional.empty();
    }

    private static boolean sameSettings(IpvsService a, IpvsService b) {
        return a.scheduler().equals(b.scheduler()) && a.persistent() == b.persistent()
                && (!a.persistent() || (a.timeoutSeconds() == b.timeoutSeconds()
                && a.netmaskPrefix() == b.netmaskPrefix()));
    }

    private static InetAddress address(String literal) throws DataplaneException {
        try {
            return InetAddress.getByName(literal); // literals only (the engine resolved names already): no lookup
        } catch (UnknownHostException e) {
            throw new DataplaneException("not an IP address: " + literal);
        }
    }
}
