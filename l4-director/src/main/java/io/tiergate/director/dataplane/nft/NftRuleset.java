package io.tiergate.director.dataplane.nft;

import io.tiergate.director.dataplane.DataplaneService;
import io.tiergate.director.dataplane.Destination;
import io.tiergate.director.model.ForwardingMethod;
import io.tiergate.director.model.Protocol;
import io.tiergate.director.model.Scheduler;
import io.tiergate.director.model.ServiceKey;
import io.tiergate.shared.maglev.MaglevTable;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Turns services into nft text batches (no I/O: golden-tested) and reads the fingerprints back from
 * {@code nft list table} output. Layout, one table per family, owned by Tiergate and nothing else:
 *
 * <pre>
 * table netdev tiergate          DR: ingress of the configured device, fwd ip to the chosen real server
 * table ip tiergate_nat          NAT: prerouting dnat, conntrack keeps each flow on its real server
 *   map services   VIP . l4proto . port : goto s_&lt;service&gt;     one lookup per packet, whatever the service count
 *   chain s_&lt;svc&gt;   hash → map m_&lt;svc&gt; (slot → real server), then drop: a miss never reaches the director's
 *                  own stack, which owns the VIP and would answer RST
 *   map m_&lt;svc&gt;    slot ranges → real server; slots come from the shared Maglev table (mh, sh) or from weights
 * </pre>
 *
 * The service's fingerprint rides in the comment of its final rule, so a restarted director recognises an identical
 * service without parsing the maps (nft 1.0.6's JSON output of typeof maps is unreliable).
 */
public final class NftRuleset {
    public static final String DR_TABLE = "netdev tiergate";
    public static final String NAT_TABLE = "ip tiergate_nat";
    private static final Pattern COMMENT = Pattern.compile("chain (s_\\w+) \\{[^}]*?comment \"tg (\\S+) fp=([0-9a-f]{16})\"",
            Pattern.DOTALL);
    private static final Pattern GOTO = Pattern.compile("goto (s_\\w+)");

    private final String device;
    private final long seed;
    private final int maglevSize;

    public NftRuleset(String device, long seed, int maglevSize) {
        this.device = device;
        this.seed = seed;
        this.maglevSize = maglevSize;
    }

    static String table(ForwardingMethod m) {
        return m == ForwardingMethod.DIRECT_ROUTE ? DR_TABLE : NAT_TABLE;
    }

    static String id(ServiceKey k) {
        return (k.protocol().configName() + "_" + k.vip() + "_" + k.port()).replaceAll("[^A-Za-z0-9]", "_")
                .toLowerCase(Locale.ROOT);
    }

    /** The table skeletons; "add" of an existing object is a no-op, so this starts every batch. */
    public String skeleton(boolean dr, boolean nat) {
        StringBuilder sb = new StringBuilder();
        if (dr) {
            sb.append("add table ").append(DR_TABLE).append('\n');
            sb.append("add chain ").append(DR_TABLE).append(" ingress { type filter hook ingress device \"")
                    .append(device).append("\" priority -500; policy accept; }\n");
            sb.append("add map ").append(DR_TABLE).append(" services { typeof ip daddr . meta l4proto . th dport : verdict; }\n");
            sb.append("flush chain ").append(DR_TABLE).append(" ingress\n");
            sb.append("add rule ").append(DR_TABLE).append(" ingress ip daddr . meta l4proto . th dport vmap @services\n");
        }
        if (nat) {
            sb.append("add table ").append(NAT_TABLE).append('\n');
            sb.append("add chain ").append(NAT_TABLE)
                    .append(" prerouting { type nat hook prerouting priority dstnat; policy accept; }\n");
            sb.append("add map ").append(NAT_TABLE).append(" services { typeof ip daddr . meta l4proto . th dport : verdict; }\n");
            sb.append("flush chain ").append(NAT_TABLE).append(" prerouting\n");
            sb.append("add rule ").append(NAT_TABLE).append(" prerouting ip daddr . meta l4proto . th dport vmap @services\n");
        }
        return sb.toString();
    }

    /** Creates or replaces one service: its map and chain are flushed and refilled inside the caller's batch. */
    public String upsert(DataplaneService s, String fingerprint) {
        ServiceKey k = s.key();
        String t = table(s.method());
        String id = id(k);
        String proto = k.protocol().configName();
        boolean nat = s.method() == ForwardingMethod.NAT;
        Slots slots = slots(s);
        StringBuilder sb = new StringBuilder();
        String data = nat ? "ip daddr . " + proto + " dport" : "ip daddr";
        sb.append("add map ").append(t).append(" m_").append(id).append(" { typeof numgen inc mod ")
                .append(Math.max(1, slots.modulus)).append(" : ").append(data).append("; }\n");
        sb.append("flush map ").append(t).append(" m_").append(id).append('\n');
        if (!slots.ranges.isEmpty()) {
            sb.append("add element ").append(t).append(" m_").append(id).append(" { ");
            for (int i = 0; i < slots.ranges.size(); i++) {
                Range r = slots.ranges.get(i);
                // One element per slot, no interval map: libnftables has to fetch every existing element of an
                // interval set before it can add to it, which made one change into 1,000 Maglev services take 4 s.
                for (int slot = r.from; slot <= r.to; slot++) {
                    sb.append(i == 0 && slot == r.from ? "" : ", ").append(slot).append(" : ").append(r.dest.address());
                    if (nat) {
                        sb.append(" . ").append(r.dest.port());
                    }
                }
            }
            sb.append(" }\n");
        }
        sb.append("add chain ").append(t).append(" s_").append(id).append('\n');
        sb.append("flush chain ").append(t).append(" s_").append(id).append('\n');
        if (!slots.ranges.isEmpty()) {
            String hash = hashExpr(s, slots.modulus);
            sb.append("add rule ").append(t).append(" s_").append(id).append(' ');
            if (nat) {
                sb.append("meta l4proto ").append(proto).append(" dnat ip to ").append(hash).append(" map @m_").append(id);
            } else {
                sb.append("fwd ip to ").append(hash).append(" map @m_").append(id).append(" device \"").append(device)
                        .append('"');
            }
            sb.append('\n');
        }
        sb.append("add rule ").append(t).append(" s_").append(id).append(" drop comment \"tg ").append(k).append(" fp=")
                .append(fingerprint).append("\"\n");
        sb.append("add element ").append(t).append(" services { ").append(k.vip()).append(" . ").append(proto)
                .append(" . ").append(k.port()).append(" : goto s_").append(id).append(" }\n");
        return sb.toString();
    }

    /** Removes a service that exists (nft fails a batch that deletes something missing, so only call it for those). */
    public String delete(ServiceKey k, ForwardingMethod method) {
        String t = table(method);
        String id = id(k);
        return "delete element " + t + " services { " + k.vip() + " . " + k.protocol().configName() + " . " + k.port()
                + " }\n" + "flush chain " + t + " s_" + id + "\n" + "delete chain " + t + " s_" + id + "\n"
                + "delete map " + t + " m_" + id + "\n";
    }

    /**
     * The flow hash. Stateless DR must hash the flow (numgen is per packet and would split a connection); NAT may use
     * numgen for true round robin because conntrack pins the flow after its first packet. The seed is explicit: without
     * one the kernel picks a random seed per rule and a reload would remap live flows.
     */
    private String hashExpr(DataplaneService s, int modulus) {
        String proto = s.key().protocol() == Protocol.TCP ? "tcp" : "udp";
        boolean rotate = s.scheduler() == Scheduler.ROUND_ROBIN || s.scheduler() == Scheduler.WEIGHTED_ROUND_ROBIN;
        if (rotate && s.method() == ForwardingMethod.NAT && !s.persistence().enabled()) {
            return "numgen inc mod " + modulus;
        }
        boolean clientOnly = s.scheduler() == Scheduler.SOURCE_HASH || s.persistence().enabled();
        String key = clientOnly ? "ip saddr" : "ip saddr . " + proto + " sport";
        return "jhash " + key + " mod " + modulus + " seed 0x" + Long.toHexString(seed);
    }

    record Range(int from, int to, Destination dest) {
    }

    record Slots(int modulus, List<Range> ranges) {
    }

    /**
     * Slot ownership. mh/sh: the shared Maglev table (size a prime ≥ maglev_size), identical on every director.
     * rr/wrr: consecutive slots per destination in proportion to weight (sum of weights slots).
     */
    Slots slots(DataplaneService s) {
        List<Destination> usable = s.destinations().stream().filter(d -> d.weight() > 0).toList();
        if (usable.isEmpty()) {
            return new Slots(1, List.of());
        }
        List<Range> ranges = new ArrayList<>();
        if (s.scheduler() == Scheduler.MAGLEV || s.scheduler() == Scheduler.SOURCE_HASH) {
            List<MaglevTable.Backend> backends = new ArrayList<>();
            Map<String, Destination> byId = new java.util.HashMap<>();
            for (Destination d : usable) {
                backends.add(MaglevTable.Backend.of(d.id(), d.weight()));
                byId.put(d.id(), d);
            }
            MaglevTable table = MaglevTable.build(backends, maglevSize);
            int start = 0;
            String owner = table.keyAt(0);
            for (int i = 1; i <= table.size(); i++) {
                String o = i < table.size() ? table.keyAt(i) : null;
                if (!java.util.Objects.equals(o, owner)) {
                    ranges.add(new Range(start, i - 1, byId.get(owner)));
                    start = i;
                    owner = o;
                }
            }
            return new Slots(table.size(), ranges);
        }
        boolean weighted = s.scheduler() == Scheduler.WEIGHTED_ROUND_ROBIN;
        int slot = 0;
        for (Destination d : usable) {
            int w = weighted ? d.weight() : 1;
            ranges.add(new Range(slot, slot + w - 1, d));
            slot += w;
        }
        return new Slots(slot, ranges);
    }

    /** Service key text → fingerprint, from {@code nft list table} output; only services the vmap still routes to. */
    public static Map<String, String> fingerprints(String listing) {
        Map<String, String> out = new java.util.LinkedHashMap<>();
        java.util.Set<String> routed = new java.util.HashSet<>();
        int services = listing.lastIndexOf("map services"); // the full listing of the map comes last
        if (services >= 0) {
            int end = listing.indexOf('}', services);
            Matcher g = GOTO.matcher(listing.substring(services, end < 0 ? listing.length() : end));
            while (g.find()) {
                routed.add(g.group(1));
            }
        }
        Matcher m = COMMENT.matcher(listing);
        while (m.find()) {
            if (routed.contains(m.group(1))) {
                out.put(m.group(2), m.group(3));
            }
        }
        return out;
    }

    /** Parses {@link ServiceKey#toString()} back ({@code tcp/10.0.0.100:80}). */
    public static ServiceKey parseKey(String text) {
        int slash = text.indexOf('/');
        int colon = text.lastIndexOf(':');
        Protocol p = text.startsWith("udp") ? Protocol.UDP : Protocol.TCP;
        String vip = text.substring(slash + 1, colon).replace("[", "").replace("]", "");
        return ServiceKey.of(p, vip, Integer.parseInt(text.substring(colon + 1)));
    }
}
