package io.tiergate.director.dataplane.nft;

import io.tiergate.director.config.DirectorConfig;
import io.tiergate.director.dataplane.Changeset;
import io.tiergate.director.dataplane.Dataplane;
import io.tiergate.director.dataplane.DataplaneException;
import io.tiergate.director.dataplane.DataplaneKind;
import io.tiergate.director.dataplane.DataplaneService;
import io.tiergate.director.dataplane.DestinationCounters;
import io.tiergate.director.model.ForwardingMethod;
import io.tiergate.director.model.ServiceKey;
import jnr.ffi.Pointer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Set;
import java.util.Map;
import java.util.Optional;

/**
 * nftables through libnftables in-process (0.15 ms per batch, against ~19 ms for spawning {@code nft -f -}). Every
 * changeset is ONE text batch, which the kernel applies atomically: a failed batch changes nothing, and there is no
 * moment between "flush" and "add" where connections are refused.
 *
 * <p>Counters: the stateless DR path keeps no connection table, so connection figures are unavailable (-1).
 */
public final class NftDataplane implements Dataplane {
    private static final Logger log = LoggerFactory.getLogger(NftDataplane.class);

    private final LibNftables lib;
    private final Pointer ctx;
    private final NftRuleset ruleset;
    /** Which table each service lives in, learned from reads: needed to delete it. */
    private final Map<ServiceKey, ForwardingMethod> methods = new HashMap<>();
    /** Named maps, sets and counters per table, learned from reads and kept up to date by applies: deletes must name them. */
    private final Map<String, java.util.Set<String>> objects = new HashMap<>();
    /** How each DR service's flow map was declared, from reads: a different size/timeout means redeclaring it. */
    private final Map<ServiceKey, String> flowTables = new HashMap<>();
    private final IpipTunnels tunnels = new IpipTunnels();
    /**
     * Whether tgt- devices may exist: true until the first apply has looked (a restart may find some to prune), then
     * whether any were left. Keeps the `ip` spawn (milliseconds) out of every health transition of a director that has
     * no tunnel services.
     */
    private boolean tunnelsMayExist = true;

    private NftDataplane(LibNftables lib, Pointer ctx, NftRuleset ruleset) {
        this.lib = lib;
        this.ctx = ctx;
        this.ruleset = ruleset;
    }

    /** Why nft cannot be used here, or empty when libnftables loads. */
    public static Optional<String> unavailableReason() {
        try {
            LibNftables lib = LibNftables.load();
            Pointer ctx = lib.nft_ctx_new(LibNftables.NFT_CTX_DEFAULT);
            if (ctx == null) {
                return Optional.of("nft_ctx_new failed");
            }
            lib.nft_ctx_free(ctx);
            return Optional.empty();
        } catch (Throwable t) {
            return Optional.of("libnftables.so.1 does not load: " + t.getMessage() + "; apt-get install libnftables1");
        }
    }

    /**
     * As {@link #unavailableReason()}, plus what this config needs beyond libnftables: the ipip module when a service
     * uses method tunnel (dataplane: auto then falls back instead of refusing to start).
     */
    public static Optional<String> unavailableReason(DirectorConfig config) {
        return unavailableReason().or(() -> tunnelServices(config).isEmpty() ? Optional.empty()
                : IpipTunnels.unavailableReason().map(r -> "service '" + tunnelServices(config).get(0) + "': " + r));
    }

    private static java.util.List<String> tunnelServices(DirectorConfig config) {
        return config.services().stream().filter(s -> s.method() == ForwardingMethod.TUNNEL).map(s -> s.name()).toList();
    }

    public static NftDataplane open(DirectorConfig config) throws DataplaneException {
        LibNftables lib;
        try {
            lib = LibNftables.load();
        } catch (Throwable t) {
            throw new DataplaneException("libnftables.so.1 does not load (" + t.getMessage()
                    + "); install it with: apt-get install libnftables1");
        }
        Pointer ctx = lib.nft_ctx_new(LibNftables.NFT_CTX_DEFAULT);
        if (ctx == null) {
            throw new DataplaneException("nft_ctx_new failed");
        }
        java.util.List<String> tunnelServices = tunnelServices(config);
        if (!tunnelServices.isEmpty()) {
            Optional<String> noIpip = IpipTunnels.unavailableReason();
            if (noIpip.isPresent()) {
                lib.nft_ctx_free(ctx);
                throw new DataplaneException("service '" + tunnelServices.get(0) + "': " + noIpip.get()
                        + " (or use method dr/nat, or the ipvs dataplane)");
            }
        }
        lib.nft_ctx_buffer_output(ctx);
        lib.nft_ctx_buffer_error(ctx);
        return new NftDataplane(lib, ctx, new NftRuleset(config.interfaceName().orElse("eth0"), config.hashSeed(),
                config.maglevSize(), config.flowTable()));
    }

    public NftRuleset ruleset() {
        return ruleset;
    }

    @Override
    public DataplaneKind kind() {
        return DataplaneKind.NFT;
    }

    /** Runs one batch; returns stdout. */
    synchronized String run(String batch) throws DataplaneException {
        int rc = lib.nft_run_cmd_from_buffer(ctx, batch);
        String out = lib.nft_ctx_get_output_buffer(ctx);
        String err = lib.nft_ctx_get_error_buffer(ctx);
        if (rc != 0) {
            String e = err == null ? "" : err.trim();
            if (e.contains("Operation not permitted")) {
                e += " (the nft dataplane needs root or CAP_NET_ADMIN; use dataplane: userspace otherwise)";
            }
            throw new DataplaneException("nft batch failed: " + e);
        }
        return out == null ? "" : out;
    }

    private synchronized String terse(String cmd) throws DataplaneException {
        int flags = lib.nft_ctx_output_get_flags(ctx);
        lib.nft_ctx_output_set_flags(ctx, flags | LibNftables.NFT_CTX_OUTPUT_TERSE);
        try {
            return run(cmd);
        } finally {
            lib.nft_ctx_output_set_flags(ctx, flags);
        }
    }

    @Override
    public Map<ServiceKey, String> read() throws DataplaneException {
        Map<ServiceKey, String> out = new LinkedHashMap<>();
        methods.clear();
        objects.clear();
        flowTables.clear();
        for (String table : NftRuleset.TABLES) {
            ForwardingMethod m = NftRuleset.method(table);
            String listing;
            try {
                // Terse: chains and their comments without the (up to a million) slot elements, which took 5.6 s
                // to list for 1,000 Maglev services; the small services map is listed in full to see what is routed.
                listing = terse("list table " + table + "\n") + run("list map " + table + " services\n");
            } catch (DataplaneException e) {
                if (missing(e)) {
                    continue; // the table is not there (first start, or someone flushed the ruleset)
                }
                throw e;
            }
            if (m == ForwardingMethod.DIRECT_ROUTE) {
                try {
                    listing += run("list map " + table + " services6\n");
                } catch (DataplaneException e) {
                    if (!missing(e)) { // a table from before IPv6 has no services6 yet: it routes no IPv6 service
                        throw e;
                    }
                }
            }
            objects.put(table, new java.util.HashSet<>(NftRuleset.objects(listing)));
            Map<String, String> declared = NftRuleset.flowTables(listing);
            String wanted = ruleset.flowTable().describe();
            NftRuleset.fingerprints(listing).forEach((k, fp) -> {
                ServiceKey key = NftRuleset.parseKey(k);
                methods.put(key, m);
                if (m == ForwardingMethod.DIRECT_ROUTE) {
                    String ft = declared.get(k);
                    flowTables.put(key, ft == null ? "" : ft);
                    if (!wanted.equals(ft)) {
                        fp = fp + " (flow table " + (ft == null ? "absent" : ft) + ", want " + wanted + ")";
                    }
                }
                out.put(key, fp);
            });
        }
        return out;
    }

    private static boolean missing(DataplaneException e) {
        return e.getMessage().contains("No such file or directory");
    }

    private java.util.Set<String> objects(ForwardingMethod m, ServiceKey k) {
        return objects.getOrDefault(NftRuleset.table(m, k), java.util.Set.of());
    }

    @Override
    public void apply(Changeset changes) throws DataplaneException {
        StringBuilder batch = new StringBuilder();
        boolean dr = changes.upserts().stream().anyMatch(s -> s.method() != ForwardingMethod.NAT);
        boolean nat = changes.upserts().stream()
                .anyMatch(s -> s.method() == ForwardingMethod.NAT && !NftRuleset.ipv6(s.key()));
        boolean nat6 = changes.upserts().stream()
                .anyMatch(s -> s.method() == ForwardingMethod.NAT && NftRuleset.ipv6(s.key()));
        batch.append(ruleset.skeleton(dr, nat, nat6));
        for (ServiceKey k : changes.deletes()) {
            ForwardingMethod m = methods.get(k);
            if (m != null) {
                batch.append(ruleset.delete(k, m, objects(m, k)));
            }
        }
        String wanted = ruleset.flowTable().describe();
        for (DataplaneService asked : changes.upserts()) {
            DataplaneService s = NftRuleset.sameFamily(asked);
            if (s != asked) {
                log.warn("service {}: nft forwards within one address family; leaving out {}", s.key(),
                        asked.destinations().stream().filter(d -> !s.destinations().contains(d)).map(d -> d.id())
                                .toList());
            }
            ForwardingMethod was = methods.get(s.key());
            boolean recreateFlows = false;
            if (was != null && was != NftRuleset.tableMethod(s.method())) {
                // moved between DR and NAT: leave the old table clean
                batch.append(ruleset.delete(s.key(), was, objects(was, s.key())));
            } else if (was == ForwardingMethod.DIRECT_ROUTE) {
                String ft = flowTables.getOrDefault(s.key(), "");
                recreateFlows = !ft.isEmpty() && !ft.startsWith("0/") && !ft.equals(wanted);
            }
            // the fingerprint of what the engine asked for, so that the next read matches it
            batch.append(ruleset.upsert(s, asked.fingerprint(), recreateFlows, objects(s.method(), s.key())));
        }
        // Tunnel devices first: nft resolves `device "tgt-…"` when it parses the batch.
        List<String> tunnelled = changes.upserts().stream().filter(s -> s.method() == ForwardingMethod.TUNNEL)
                .map(NftRuleset::sameFamily).flatMap(s -> s.destinations().stream()).map(d -> d.address()).toList();
        boolean tunnelWork = tunnelsMayExist || !tunnelled.isEmpty();
        Set<String> devices = tunnelWork ? tunnels.existing() : Set.of();
        tunnelsMayExist |= !tunnelled.isEmpty(); // a failed batch below leaves new devices for the next apply to prune
        tunnels.ensure(tunnelled, devices);
        long t0 = System.nanoTime();
        run(batch.toString());
        log.debug("nft batch of {} bytes applied in {} us", batch.length(), (System.nanoTime() - t0) / 1000);
        // What the table holds now, so the next delete names exactly the objects that exist.
        for (ServiceKey k : changes.deletes()) {
            ForwardingMethod m = methods.remove(k);
            flowTables.remove(k);
            if (m != null) {
                forget(m, k);
            }
        }
        tunnelsMayExist = !devices.isEmpty() || !tunnelled.isEmpty();
        if (tunnelsMayExist) {
            // What the rules forward into now, read back: also right after a restart, when this process never
            // created the devices a service that did not change still uses.
            String rules;
            try {
                rules = terse("list table " + NftRuleset.DR_TABLE + "\n");
            } catch (DataplaneException e) {
                if (!missing(e)) {
                    throw e;
                }
                rules = ""; // no DR table: nothing forwards into a tunnel
            }
            Set<String> referenced = NftRuleset.tunnelDevices(rules);
            tunnels.prune(tunnels.existing(), referenced);
            tunnelsMayExist = !referenced.isEmpty();
        }
        for (DataplaneService s : changes.upserts().stream().map(NftRuleset::sameFamily).toList()) {
            ForwardingMethod was = methods.put(s.key(), NftRuleset.tableMethod(s.method()));
            if (was != null && was != NftRuleset.tableMethod(s.method())) {
                forget(was, s.key());
            }
            java.util.Set<String> held = objects.computeIfAbsent(NftRuleset.table(s.method(), s.key()),
                    x -> new java.util.HashSet<>());
            String id = NftRuleset.id(s.key());
            held.add("map m_" + id);
            if (s.method() != ForwardingMethod.NAT) {
                held.add("map d_" + id);
                boolean v6 = NftRuleset.ipv6(s.key());
                if (ruleset.flowTable().enabled() && !v6) {
                    held.add("map f_" + id);
                } else {
                    held.remove("map f_" + id);
                }
                held.removeIf(o -> o.startsWith("set p_" + id + "_"));
                s.destinations().forEach(d -> held.add("counter " + NftRuleset.counterName(s.key(), d.address())));
                if (ruleset.flowTable().enabled() && v6) {
                    s.destinations().forEach(d -> held.add("set " + NftRuleset.pinSet(s.key(), d.address())));
                }
                flowTables.put(s.key(), wanted);
            }
        }
    }

    /** Drops what the bookkeeping knows of one service's objects in the table it was in. */
    private void forget(ForwardingMethod m, ServiceKey k) {
        String id = NftRuleset.id(k);
        objects.getOrDefault(NftRuleset.table(m, k), java.util.Set.of()).removeIf(o -> o.endsWith("_" + id)
                || o.startsWith("counter c_" + id + "_") || o.startsWith("set p_" + id + "_"));
    }

    /**
     * DR services: packets and bytes client → real server from the named counter of each real server (forwarded
     * packets only, both the pinned and the stateless path), and the number of pinned flows per real server as
     * active connections (a pin outlives its connection by up to the flow table timeout, like IPVS's TIME_WAIT
     * entries). NAT services and the reply direction of DR (which bypasses the director) have no figures (-1).
     */
    @Override
    public Map<ServiceKey, Map<String, DestinationCounters>> counters() {
        Map<ServiceKey, Map<String, DestinationCounters>> out = new LinkedHashMap<>();
        try {
            String listing = run("list counters table " + NftRuleset.DR_TABLE + "\n");
            Map<String, long[]> byName = NftRuleset.counterValues(listing);
            for (Map.Entry<ServiceKey, ForwardingMethod> e : methods.entrySet()) {
                if (e.getValue() != ForwardingMethod.DIRECT_ROUTE) {
                    continue;
                }
                ServiceKey k = e.getKey();
                String id = NftRuleset.id(k);
                Map<String, String> members = NftRuleset.counterMembers(
                        run("list map " + NftRuleset.DR_TABLE + " d_" + id + "\n"));
                Map<String, Long> pinned = new HashMap<>();
                if (ruleset.flowTable().enabled() && NftRuleset.ipv6(k)) {
                    for (String address : members.keySet()) {
                        pinned.put(address, NftRuleset.pinnedInSet(run("list set " + NftRuleset.DR_TABLE + " "
                                + NftRuleset.pinSet(k, address) + "\n")));
                    }
                } else if (ruleset.flowTable().enabled()) {
                    pinned = NftRuleset.pinnedPerServer(run("list map " + NftRuleset.DR_TABLE + " f_" + id + "\n"));
                }
                Map<String, DestinationCounters> rows = new LinkedHashMap<>();
                for (Map.Entry<String, String> m : members.entrySet()) {
                    long[] v = byName.getOrDefault(m.getValue(), new long[] {-1, -1});
                    long flows = ruleset.flowTable().enabled() ? pinned.getOrDefault(m.getKey(), 0L) : -1;
                    rows.put(new io.tiergate.director.dataplane.Destination(m.getKey(), k.port(), 0).id(),
                            new DestinationCounters(flows, -1, -1, v[0], -1, v[1], -1));
                }
                out.put(k, rows);
            }
        } catch (DataplaneException e) {
            log.debug("nft counters unavailable: {}", e.getMessage());
        }
        return out;
    }

    @Override
    public synchronized void close() {
        lib.nft_ctx_free(ctx);
    }
}
