package io.tiergate.director.dataplane.nft;

import io.tiergate.director.dataplane.DataplaneService;
import io.tiergate.director.dataplane.Destination;
import io.tiergate.director.model.FlowTable;
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
 * table netdev tiergate          DR: ingress of the configured device, fwd ip/ip6 to the chosen real server;
 *                                tunnel (IPIP) services too, forwarded into one tgt-&lt;hex address&gt; ipip device per server
 * table ip tiergate_nat          NAT, IPv4 VIPs: prerouting dnat, conntrack keeps each flow on its real server
 * table ip6 tiergate_nat6        NAT, IPv6 VIPs (a table of its own keeps the IPv4 one exactly as it was)
 *   map services   VIP . l4proto . port : goto s_&lt;service&gt;     one lookup per packet, whatever the service count
 *                  (the DR table has a second one, services6, for IPv6 VIPs)
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
    public static final String NAT6_TABLE = "ip6 tiergate_nat6";
    /** Every table Tiergate owns: read back, diffed and repaired as a whole. */
    public static final List<String> TABLES = List.of(DR_TABLE, NAT_TABLE, NAT6_TABLE);
    private static final Pattern COMMENT = Pattern.compile(
            "chain (s_\\w+) \\{(?:(?!chain ).)*?comment \"tg (\\S+) fp=([0-9a-f]{16})[^\"]*\"",
            Pattern.DOTALL);
    private static final Pattern GOTO = Pattern.compile("goto (s_\\w+)");
    private static final Pattern SERVICES = Pattern.compile("map services6? \\{[^}]*");
    private static final Pattern OBJECT = Pattern.compile("(?m)^\\s*(map|set|counter) (\\w+) \\{");
    private static final Pattern TUNNEL_DEVICE = Pattern.compile("device \"?(" + "tgt-" + "[0-9a-f]{8})\"?");
    private static final Pattern FLOW_TABLE = Pattern.compile("comment \"tg (\\S+) fp=[0-9a-f]{16} ft=(\\S+)\"");

    private final String device;
    private final long seed;
    private final int maglevSize;
    private final FlowTable flowTable;

    public NftRuleset(String device, long seed, int maglevSize) {
        this(device, seed, maglevSize, FlowTable.OFF);
    }

    public NftRuleset(String device, long seed, int maglevSize, FlowTable flowTable) {
        this.device = device;
        this.seed = seed;
        this.maglevSize = maglevSize;
        this.flowTable = flowTable;
    }

    public FlowTable flowTable() {
        return flowTable;
    }

    static String table(ForwardingMethod m, ServiceKey k) {
        return m != ForwardingMethod.NAT ? DR_TABLE : ipv6(k) ? NAT6_TABLE : NAT_TABLE;
    }

    /**
     * The method as the table layout sees it: a tunnel service lives in the DR table (same ingress hook, flow map and
     * counters; only the last hop differs), so the bookkeeping of which table holds a service uses this.
     */
    static ForwardingMethod tableMethod(ForwardingMethod m) {
        return m == ForwardingMethod.NAT ? ForwardingMethod.NAT : ForwardingMethod.DIRECT_ROUTE;
    }

    /** Name prefix of the IPIP devices the tunnel method creates; devices without it are never touched. */
    public static final String TUNNEL_PREFIX = "tgt-";

    /**
     * The IPIP device that carries one tunnel real server's traffic: the prefix and the IPv4 address in hex
     * ({@code tgt-0a01000b} for 10.1.0.11), so 12 characters (IFNAMSIZ allows 15), stable across restarts and one per
     * real server whatever the number of services it is in.
     */
    public static String tunnelDevice(String ipv4) {
        String[] octets = ipv4.split("\\.");
        if (octets.length != 4) {
            throw new IllegalArgumentException("not an IPv4 address: " + ipv4);
        }
        StringBuilder sb = new StringBuilder(TUNNEL_PREFIX);
        for (String o : octets) {
            sb.append(String.format("%02x", Integer.parseInt(o)));
        }
        return sb.toString();
    }

    /** The method a table implements. */
    static ForwardingMethod method(String table) {
        return table.equals(DR_TABLE) ? ForwardingMethod.DIRECT_ROUTE : ForwardingMethod.NAT;
    }

    static boolean ipv6(ServiceKey k) {
        return k.vip().indexOf(':') >= 0;
    }

    /** The nft payload protocol of the key's family: {@code ip} or {@code ip6}. */
    private static String ip(ServiceKey k) {
        return ipv6(k) ? "ip6" : "ip";
    }

    /** The verdict map routing the key's VIPs: the DR table holds one per family. */
    static String servicesMap(ServiceKey k, ForwardingMethod m) {
        return m != ForwardingMethod.NAT && ipv6(k) ? "services6" : "services";
    }

    static String id(ServiceKey k) {
        return (k.protocol().configName() + "_" + k.vip() + "_" + k.port()).replaceAll("[^A-Za-z0-9]", "_")
                .toLowerCase(Locale.ROOT);
    }

    /** The table skeletons; "add" of an existing object is a no-op, so this starts every batch. */
    public String skeleton(boolean dr, boolean nat) {
        return skeleton(dr, nat, false);
    }

    /**
     * The table skeletons for DR, IPv4 NAT and IPv6 NAT. The DR ingress chain always routes both families (it is
     * flushed and refilled by every batch, so it cannot depend on which services this batch touches).
     */
    public String skeleton(boolean dr, boolean nat, boolean nat6) {
        StringBuilder sb = new StringBuilder();
        if (dr) {
            sb.append("add table ").append(DR_TABLE).append('\n');
            sb.append("add chain ").append(DR_TABLE).append(" ingress { type filter hook ingress device \"")
                    .append(device).append("\" priority -500; policy accept; }\n");
            sb.append("add map ").append(DR_TABLE).append(" services { typeof ip daddr . meta l4proto . th dport : verdict; }\n");
            sb.append("flush chain ").append(DR_TABLE).append(" ingress\n");
            // pkttype host: only frames addressed to this host's MAC. A standby director, or any director on a bridge
            // that floods unknown unicast, also sees frames meant for the active one; the IP layer would drop them,
            // but this hook runs first and would forward duplicates to the real servers.
            sb.append("add rule ").append(DR_TABLE)
                    .append(" ingress meta pkttype host ip daddr . meta l4proto . th dport vmap @services\n");
            sb.append("add map ").append(DR_TABLE).append(" services6 { typeof ip6 daddr . meta l4proto . th dport : verdict; }\n");
            sb.append("add rule ").append(DR_TABLE)
                    .append(" ingress meta pkttype host ip6 daddr . meta l4proto . th dport vmap @services6\n");
        }
        if (nat) {
            natSkeleton(sb, NAT_TABLE, "ip");
        }
        if (nat6) {
            natSkeleton(sb, NAT6_TABLE, "ip6");
            // IPv6 has no send_redirects switch. A one-armed NAT director forwards the real servers' replies out of
            // the interface they came in on and tells the server, by ICMPv6 redirect, to reach the client directly;
            // a server that takes it answers from its own address and the client drops the reply (measured: 37 of
            // 50 connections failed in NftNamespace6Test). A redirect is only ever an optimisation: never send one.
            sb.append("add chain ").append(NAT6_TABLE)
                    .append(" output { type filter hook output priority filter; policy accept; }\n");
            sb.append("flush chain ").append(NAT6_TABLE).append(" output\n");
            sb.append("add rule ").append(NAT6_TABLE).append(" output icmpv6 type nd-redirect drop\n");
        }
        return sb.toString();
    }

    private static void natSkeleton(StringBuilder sb, String table, String ip) {
        sb.append("add table ").append(table).append('\n');
        sb.append("add chain ").append(table)
                .append(" prerouting { type nat hook prerouting priority dstnat; policy accept; }\n");
        sb.append("add map ").append(table).append(" services { typeof ").append(ip)
                .append(" daddr . meta l4proto . th dport : verdict; }\n");
        sb.append("flush chain ").append(table).append(" prerouting\n");
        sb.append("add rule ").append(table).append(" prerouting ").append(ip)
                .append(" daddr . meta l4proto . th dport vmap @services\n");
    }

    /** Creates or replaces one service, keeping its flow pins (see {@link #upsert(DataplaneService, String, boolean)}). */
    public String upsert(DataplaneService s, String fingerprint) {
        return upsert(s, fingerprint, false);
    }

    public String upsert(DataplaneService s, String fingerprint, boolean recreateFlows) {
        return upsert(s, fingerprint, recreateFlows, java.util.Set.of());
    }

    /**
     * Creates or replaces one service inside the caller's batch: its slot map, counter map and chain are flushed and
     * refilled. The flow map (DR) is never flushed, which is the point of it: a pinned flow keeps its real server for
     * as long as that server is still a member (weight 0 included). {@code recreateFlows} drops and redeclares it,
     * for when its size or timeout changed (nft cannot change those on a live map). {@code objects} are the named
     * objects the table holds now ({@link #objects(String)}): an IPv6 DR service deletes the pin sets of real servers
     * that are no longer members.
     */
    public String upsert(DataplaneService s, String fingerprint, boolean recreateFlows, java.util.Set<String> objects) {
        ServiceKey k = s.key();
        String t = table(s.method(), k);
        String id = id(k);
        String proto = k.protocol().configName();
        String ip = ip(k);
        boolean nat = s.method() == ForwardingMethod.NAT;
        Slots slots = slots(s);
        StringBuilder sb = new StringBuilder();
        sb.append("add chain ").append(t).append(" s_").append(id).append('\n');
        sb.append("flush chain ").append(t).append(" s_").append(id).append('\n');
        if (recreateFlows && !ipv6(k)) {
            sb.append("delete map ").append(t).append(" f_").append(id).append('\n');
        }
        if (!nat && ipv6(k)) {
            stalePinSets(sb, s, recreateFlows, objects);
        }
        String data = nat ? ip + " daddr . " + proto + " dport" : ip + " daddr";
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
        String comment;
        if (nat) {
            if (!slots.ranges.isEmpty()) {
                sb.append("add rule ").append(t).append(" s_").append(id).append(" meta l4proto ").append(proto)
                        .append(" dnat ").append(ip).append(" to ").append(hashExpr(s, slots.modulus))
                        .append(" map @m_").append(id).append('\n');
            }
            comment = "tg " + k + " fp=" + fingerprint;
        } else {
            members(sb, s, id);
            if (ipv6(k)) {
                dr6(sb, s, id, slots);
            } else {
                dr(sb, s, id, slots);
            }
            comment = "tg " + k + " fp=" + fingerprint + " ft=" + flowTable.describe();
        }
        sb.append("add rule ").append(t).append(" s_").append(id).append(" drop comment \"").append(comment)
                .append("\"\n");
        sb.append("add element ").append(t).append(' ').append(servicesMap(k, s.method())).append(" { ")
                .append(k.vip()).append(" . ").append(proto).append(" . ").append(k.port()).append(" : goto s_")
                .append(id).append(" }\n");
        return sb.toString();
    }

    /** The member map {@code d_<svc>}: every real server (weight 0 included) → its named counter. */
    private void members(StringBuilder sb, DataplaneService s, String id) {
        String t = DR_TABLE;
        sb.append("add map ").append(t).append(" d_").append(id).append(" { type ")
                .append(ipv6(s.key()) ? "ipv6_addr" : "ipv4_addr").append(" : counter; }\n");
        sb.append("flush map ").append(t).append(" d_").append(id).append('\n');
        if (!s.destinations().isEmpty()) {
            StringBuilder elements = new StringBuilder();
            for (Destination d : s.destinations()) {
                String c = counterName(s.key(), d.address());
                sb.append("add counter ").append(t).append(' ').append(c).append('\n');
                elements.append(elements.length() == 0 ? "" : ", ").append(d.address()).append(" : \"").append(c)
                        .append('"');
            }
            sb.append("add element ").append(t).append(" d_").append(id).append(" { ").append(elements).append(" }\n");
        }
    }

    /**
     * The DR chain. Every path parks the chosen real server in {@code ip daddr} (nft 1.0.6 cannot use a map lookup as
     * the value of {@code add @flows}, nor as a counter key), counts it, restores the VIP and forwards:
     * <ol>
     *   <li>pinned (TCP: not for a SYN): the flow map names a real server AND the counter map still has it (a
     *       member, weight 0 included) → forward there. A removed real server has no counter entry, so its pins are ignored (its flows are dead
     *       anyway) and the VIP is restored;</li>
     *   <li>stateless: the slot map picks a real server; a TCP SYN (any UDP packet) pins it — a SYN deletes the
     *       old pin of its (address, port) first, since {@code add} never overwrites; when the flow map is full the
     *       add fails and the packet still goes out on the stateless choice;</li>
     *   <li>anything else (no usable server, no pin) is dropped rather than reaching the director's own stack.</li>
     * </ol>
     */
    private void dr(StringBuilder sb, DataplaneService s, String id, Slots slots) {
        String t = DR_TABLE;
        String vip = s.key().vip();
        String dev = fwdDevice();
        String chain = "add rule " + t + " s_" + id + " ";
        String flowKey = "ip saddr . " + s.key().protocol().configName() + " sport";
        boolean tunnel = s.method() == ForwardingMethod.TUNNEL;
        if (flowTable.enabled()) {
            sb.append("add map ").append(t).append(" f_").append(id).append(" { typeof ").append(flowKey)
                    .append(" : ip daddr; size ").append(flowTable.size()).append("; flags dynamic,timeout; timeout ")
                    .append(flowTable.timeout().toSeconds()).append("s; }\n");
            sb.append(chain).append(notSyn(s)).append("ip daddr set ").append(flowKey).append(" map @f_").append(id)
                    .append('\n');
            if (tunnel) {
                tunnelForwards(sb, s, chain);
            } else {
                sb.append(chain).append("counter name ip daddr map @d_").append(id).append(" ip daddr set ").append(vip)
                        .append(" fwd ip to ").append(flowKey).append(" map @f_").append(id).append(dev).append('\n');
            }
            sb.append(chain).append("ip daddr != ").append(vip).append(" ip daddr set ").append(vip).append('\n');
        }
        if (slots.ranges.isEmpty()) {
            return;
        }
        String hash = hashExpr(s, slots.modulus) + " map @m_" + id;
        sb.append(chain).append("ip daddr set ").append(hash).append('\n');
        if (flowTable.enabled()) {
            if (s.key().protocol() == Protocol.TCP) {
                sb.append(chain).append(synOnly(s)).append("ip daddr != ").append(vip).append(" delete @f_").append(id)
                        .append(" { ").append(flowKey).append(" : ip daddr }\n");
            }
            sb.append(chain).append(synOnly(s)).append("ip daddr != ").append(vip).append(" add @f_").append(id)
                    .append(" { ").append(flowKey).append(" : ip daddr }\n");
        }
        if (tunnel) {
            tunnelForwards(sb, s, chain);
            return;
        }
        sb.append(chain).append("ip daddr != ").append(vip).append(" counter name ip daddr map @d_").append(id)
                .append(" ip daddr set ").append(vip).append(" fwd ip to ").append(hash).append(dev).append('\n');
    }

    /**
     * The last hop of a tunnel service, one rule per real server (its own IPIP device): the chosen server is parked in
     * {@code ip daddr}; the packet gets the VIP back and goes to that server through {@code fwd ip to <server> device
     * <tunnel>}, where the kernel's ipip device adds the outer header (director → server). {@code fwd to <tunnel>}
     * would not do: it encapsulates the Ethernet header too. A lookup cost of one compare per member; the slot map
     * still decides, so Maglev consistency across directors is unchanged.
     */
    private static void tunnelForwards(StringBuilder sb, DataplaneService s, String chain) {
        String vip = s.key().vip();
        for (Destination d : s.destinations()) {
            sb.append(chain).append("ip daddr ").append(d.address()).append(" counter name \"")
                    .append(counterName(s.key(), d.address())).append("\" ip daddr set ").append(vip)
                    .append(" fwd ip to ").append(d.address()).append(" device \"").append(tunnelDevice(d.address()))
                    .append("\"\n");
        }
    }

    /** The IPIP devices the rules of a (terse) DR table listing forward into. */
    public static java.util.Set<String> tunnelDevices(String listing) {
        java.util.Set<String> out = new java.util.TreeSet<>();
        Matcher m = TUNNEL_DEVICE.matcher(listing);
        while (m.find()) {
            out.add(m.group(1));
        }
        return out;
    }

    private String fwdDevice() {
        return " device \"" + device + "\"";
    }

    private static String synOnly(DataplaneService s) {
        return s.key().protocol() == Protocol.TCP ? "tcp flags & (syn | ack) == syn " : "";
    }

    /**
     * The guard of a TCP pin lookup: a SYN starts a new connection, so it never follows a pin (a stale one may name a
     * drained server); it is scheduled statelessly and its pin replaces the old one, like IPVS's conn_reuse_mode.
     */
    private static String notSyn(DataplaneService s) {
        return s.key().protocol() == Protocol.TCP ? "tcp flags & (syn | ack) != syn " : "";
    }

    /**
     * The IPv6 DR chain. Same paths as {@link #dr}, but the pins live in one set per real server
     * ({@code p_<svc>_<server>}, keyed {@code ip6 saddr . tcp sport}) instead of one flow map: nft 1.0.6 allocates a
     * single register for a set key longer than 16 bytes, so {@code add @f { ip6 saddr . tcp sport : ip6 daddr }}
     * aborts nft (or, keyed {@code tcp sport . ip6 saddr}, silently overwrites the key's last word with the data).
     * A set without data has no such overlap. The per-server sets also make membership structural: a removed server's
     * set and rule are gone, so its pins are ignored as in IPv4. Cost: one set lookup per member for each packet. As in
     * IPv4 a TCP SYN skips the pins, and deletes its key from every member's set before pinning the stateless choice
     * (one delete per member per SYN), so a reused (address, port) never follows a stale pin.
     */
    private void dr6(StringBuilder sb, DataplaneService s, String id, Slots slots) {
        String chain = "add rule " + DR_TABLE + " s_" + id + " ";
        String flowKey = "ip6 saddr . " + s.key().protocol().configName() + " sport";
        if (flowTable.enabled()) {
            for (Destination d : s.destinations()) {
                String set = pinSet(s.key(), d.address());
                sb.append("add set ").append(DR_TABLE).append(' ').append(set).append(" { typeof ").append(flowKey)
                        .append("; size ").append(flowTable.size()).append("; flags dynamic,timeout; timeout ")
                        .append(flowTable.timeout().toSeconds()).append("s; }\n");
                sb.append(chain).append(notSyn(s)).append(flowKey).append(" @").append(set).append(" counter name \"")
                        .append(counterName(s.key(), d.address())).append("\" fwd ip6 to ").append(d.address())
                        .append(fwdDevice()).append('\n');
            }
        }
        if (slots.ranges.isEmpty()) {
            return;
        }
        String hash = hashExpr(s, slots.modulus) + " map @m_" + id;
        sb.append(chain).append("ip6 daddr set ").append(hash).append('\n');
        if (flowTable.enabled()) {
            if (s.key().protocol() == Protocol.TCP) {
                for (Destination d : s.destinations()) {
                    sb.append(chain).append(synOnly(s)).append("delete @").append(pinSet(s.key(), d.address()))
                            .append(" { ").append(flowKey).append(" }\n");
                }
            }
            for (Destination d : s.destinations()) {
                if (d.weight() > 0) {
                    sb.append(chain).append(synOnly(s)).append("ip6 daddr ").append(d.address()).append(" add @")
                            .append(pinSet(s.key(), d.address())).append(" { ").append(flowKey).append(" }\n");
                }
            }
        }
        String vip = s.key().vip();
        sb.append(chain).append("ip6 daddr != ").append(vip).append(" counter name ip6 daddr map @d_").append(id)
                .append(" ip6 daddr set ").append(vip).append(" fwd ip6 to ").append(hash).append(fwdDevice()).append('\n');
    }

    /**
     * Deletes the pin sets an IPv6 DR service no longer uses (real servers that left, or all of them when the flow
     * table is redeclared or turned off). Runs after the chain that references them is flushed.
     */
    private void stalePinSets(StringBuilder sb, DataplaneService s, boolean recreate, java.util.Set<String> objects) {
        java.util.Set<String> keep = new java.util.HashSet<>();
        if (flowTable.enabled() && !recreate) {
            s.destinations().forEach(d -> keep.add("set " + pinSet(s.key(), d.address())));
        }
        String prefix = "set p_" + id(s.key()) + "_";
        objects.stream().filter(o -> o.startsWith(prefix) && !keep.contains(o)).sorted()
                .forEach(o -> sb.append("delete set ").append(DR_TABLE).append(' ').append(o.substring(4)).append('\n'));
    }

    /** The pin set of one real server of an IPv6 DR service. */
    static String pinSet(ServiceKey k, String address) {
        return "p" + counterName(k, address).substring(1);
    }

    /**
     * The service without the destinations nft cannot forward to: those of the other address family. A literal of the
     * wrong family is a config error; this catches a real server host name that resolves to both families.
     */
    static DataplaneService sameFamily(DataplaneService s) {
        List<Destination> kept = s.destinations().stream()
                .filter(d -> (d.address().indexOf(':') >= 0) == ipv6(s.key())).toList();
        return kept.size() == s.destinations().size() ? s : new DataplaneService(s.key(), s.scheduler(), s.method(),
                s.persistence(), s.proxyProtocol(), kept);
    }

    /** The named counter of one real server of a DR service. */
    static String counterName(ServiceKey k, String address) {
        return "c_" + id(k) + "_" + address.replaceAll("[^A-Za-z0-9]", "_");
    }

    /**
     * Removes a service that exists (nft fails a batch that deletes something missing, so only call it for those).
     * {@code objects} are the named objects the table holds (from {@link #objects(String)}): the flow and counter
     * maps and the counters, which older layouts did not have.
     */
    public String delete(ServiceKey k, ForwardingMethod method, java.util.Set<String> objects) {
        String t = table(method, k);
        String id = id(k);
        StringBuilder sb = new StringBuilder();
        sb.append("delete element ").append(t).append(' ').append(servicesMap(k, method)).append(" { ")
                .append(k.vip()).append(" . ")
                .append(k.protocol().configName()).append(" . ").append(k.port()).append(" }\n");
        sb.append("flush chain ").append(t).append(" s_").append(id).append('\n');
        sb.append("delete chain ").append(t).append(" s_").append(id).append('\n');
        sb.append("delete map ").append(t).append(" m_").append(id).append('\n');
        for (String prefix : new String[] {"map d_", "map f_"}) {
            if (objects.contains(prefix + id)) {
                sb.append("delete ").append(prefix).append(id).append('\n');
            }
        }
        for (String prefix : new String[] {"counter c_", "set p_"}) {
            String kind = prefix.substring(0, prefix.indexOf(' '));
            objects.stream().filter(o -> o.startsWith(prefix + id + "_")).sorted().forEach(o -> sb.append("delete ")
                    .append(kind).append(' ').append(t).append(' ').append(o.substring(kind.length() + 1)).append('\n'));
        }
        return sb.toString().replace("delete map d_", "delete map " + t + " d_")
                .replace("delete map f_", "delete map " + t + " f_");
    }

    public String delete(ServiceKey k, ForwardingMethod method) {
        return delete(k, method, java.util.Set.of());
    }

    /** Named maps, sets and counters of a (terse) table listing, as {@code "map m_x"}, {@code "counter c_x"}. */
    public static java.util.Set<String> objects(String listing) {
        java.util.Set<String> out = new java.util.HashSet<>();
        Matcher m = OBJECT.matcher(listing);
        while (m.find()) {
            out.add(m.group(1) + " " + m.group(2));
        }
        return out;
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
        String saddr = ip(s.key()) + " saddr";
        String key = clientOnly ? saddr : saddr + " . " + proto + " sport";
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
        Matcher services = SERVICES.matcher(listing); // services and services6, up to the end of their elements
        while (services.find()) {
            Matcher g = GOTO.matcher(services.group());
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

    /** Service key text → the flow table a DR service was declared with ({@link FlowTable#describe()}). */
    public static Map<String, String> flowTables(String listing) {
        Map<String, String> out = new java.util.HashMap<>();
        Matcher m = FLOW_TABLE.matcher(listing);
        while (m.find()) {
            out.put(m.group(1), m.group(2));
        }
        return out;
    }

    private static final Pattern COUNTER = Pattern.compile("counter (\\w+) \\{\\s*packets (\\d+) bytes (\\d+)");
    private static final Pattern MEMBER = Pattern.compile("([0-9a-f.:]+) : \"?(c_\\w+)\"?");
    private static final Pattern PIN = Pattern.compile(": ([0-9a-f.:]+)(?=\\s*[,}\\n])");
    private static final Pattern PINNED = Pattern.compile(" expires ");

    /** Counter name → {packets, bytes}, from {@code list counters}. */
    public static Map<String, long[]> counterValues(String listing) {
        Map<String, long[]> out = new java.util.HashMap<>();
        Matcher m = COUNTER.matcher(listing);
        while (m.find()) {
            out.put(m.group(1), new long[] {Long.parseLong(m.group(2)), Long.parseLong(m.group(3))});
        }
        return out;
    }

    /** Flows pinned in one IPv6 pin set, from {@code list set p_<svc>_<server>}. */
    public static long pinnedInSet(String listing) {
        int elements = listing.indexOf("elements = {");
        return elements < 0 ? 0 : PINNED.matcher(listing.substring(elements)).results().count();
    }

    /** Real server address → its counter name, from {@code list map d_<svc>}. */
    public static Map<String, String> counterMembers(String listing) {
        Map<String, String> out = new java.util.LinkedHashMap<>();
        Matcher m = MEMBER.matcher(listing);
        while (m.find()) {
            out.put(m.group(1), m.group(2));
        }
        return out;
    }

    /** Real server address → number of flows pinned to it, from {@code list map f_<svc>}. */
    public static Map<String, Long> pinnedPerServer(String listing) {
        Map<String, Long> out = new java.util.HashMap<>();
        int elements = listing.indexOf("elements = {");
        if (elements < 0) {
            return out;
        }
        Matcher m = PIN.matcher(listing.substring(elements));
        while (m.find()) {
            out.merge(m.group(1), 1L, Long::sum);
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
