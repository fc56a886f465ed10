package io.tiergate.director.admin;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.tiergate.director.engine.DirectorStatus;
import io.tiergate.director.engine.ServiceStatus;

import java.util.Locale;

/**
 * Renders {@link DirectorStatus} the way {@code ipvsadm -Ln} (and {@code --stats}, {@code --rate}) does, so operators
 * read it without learning a new layout. Figures a dataplane cannot provide print as {@code -}.
 */
public final class StatusTable {
    private StatusTable() {
    }

    public static DirectorStatus parse(String json) throws java.io.IOException {
        return new ObjectMapper().configure(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES, false)
                .readValue(json, DirectorStatus.class);
    }

    public static String list(DirectorStatus st) {
        StringBuilder sb = header(st);
        sb.append("Prot LocalAddress:Port Scheduler Flags\n");
        sb.append(String.format("  -> %-28s %-7s %-6s %-10s %-10s %s%n", "RemoteAddress:Port", "Forward", "Weight",
                "ActiveConn", "InActConn", "Health"));
        for (ServiceStatus s : st.services()) {
            sb.append(serviceLine(s)).append(' ').append(s.scheduler());
            StringBuilder flags = new StringBuilder();
            if (!s.quorumMet()) {
                flags.append(" below-quorum");
            }
            if (s.sorryActive()) {
                flags.append(" sorry");
            }
            sb.append(flags).append("  (").append(s.name()).append(")\n");
            for (ServiceStatus.RealServerStatus r : s.realServers()) {
                String health = r.health() + (r.drained() ? ",drained" : "") + (r.inDataplane() ? "" : ",removed")
                        + (r.sorry() ? ",sorry" : "");
                sb.append(String.format("  -> %-28s %-7s %-6d %-10s %-10s %s%n", r.id(), forward(s.method()),
                        r.effectiveWeight(), n(r.activeConnections()), n(r.inactiveConnections()), health));
            }
        }
        return sb.toString();
    }

    public static String stats(DirectorStatus st) {
        StringBuilder sb = header(st);
        sb.append(String.format("%-33s %8s %8s %8s %9s %9s%n", "Prot LocalAddress:Port", "Conns", "InPkts", "OutPkts",
                "InBytes", "OutBytes"));
        sb.append("  -> RemoteAddress:Port\n");
        for (ServiceStatus s : st.services()) {
            long[] sum = new long[5];
            for (ServiceStatus.RealServerStatus r : s.realServers()) {
                long[] v = {r.connections(), r.packetsIn(), r.packetsOut(), r.bytesIn(), r.bytesOut()};
                for (int i = 0; i < 5; i++) {
                    sum[i] = sum[i] < 0 || v[i] < 0 ? -1 : sum[i] + v[i];
                }
            }
            sb.append(String.format("%-33s %8s %8s %8s %9s %9s%n", serviceLine(s), n(sum[0]), n(sum[1]), n(sum[2]),
                    human(sum[3]), human(sum[4])));
            for (ServiceStatus.RealServerStatus r : s.realServers()) {
                sb.append(String.format("  -> %-28s %8s %8s %8s %9s %9s%n", r.id(), n(r.connections()),
                        n(r.packetsIn()), n(r.packetsOut()), human(r.bytesIn()), human(r.bytesOut())));
            }
        }
        return sb.toString();
    }

    /** Per-second rates between two samples taken {@code seconds} apart. */
    public static String rate(DirectorStatus before, DirectorStatus after, double seconds) {
        StringBuilder sb = header(after);
        sb.append(String.format("%-33s %8s %8s %8s %9s %9s%n", "Prot LocalAddress:Port", "CPS", "InPPS", "OutPPS",
                "InBPS", "OutBPS"));
        sb.append("  -> RemoteAddress:Port\n");
        for (ServiceStatus s : after.services()) {
            ServiceStatus old = before.services().stream().filter(o -> o.name().equals(s.name())).findFirst().orElse(null);
            sb.append(serviceLine(s)).append('\n');
            for (ServiceStatus.RealServerStatus r : s.realServers()) {
                ServiceStatus.RealServerStatus o = old == null ? null : old.realServers().stream()
                        .filter(x -> x.id().equals(r.id())).findFirst().orElse(null);
                sb.append(String.format("  -> %-28s %8s %8s %8s %9s %9s%n", r.id(),
                        per(o == null ? -1 : o.connections(), r.connections(), seconds),
                        per(o == null ? -1 : o.packetsIn(), r.packetsIn(), seconds),
                        per(o == null ? -1 : o.packetsOut(), r.packetsOut(), seconds),
                        per(o == null ? -1 : o.bytesIn(), r.bytesIn(), seconds),
                        per(o == null ? -1 : o.bytesOut(), r.bytesOut(), seconds)));
            }
        }
        return sb.toString();
    }

    private static StringBuilder header(DirectorStatus st) {
        StringBuilder sb = new StringBuilder();
        sb.append("Tiergate director, dataplane ").append(st.dataplane()).append(" (").append(st.dataplaneReason())
                .append(")\n");
        if (st.lastError() != null && !st.lastError().isEmpty()) {
            sb.append("LAST ERROR: ").append(st.lastError()).append('\n');
        }
        if (st.ha() != null) {
            sb.append(vrrpLine(st.ha())).append('\n');
        }
        if (st.bgp() != null) {
            sb.append(bgpLines(st.bgp()));
        }
        return sb;
    }

    /**
     * {@code BGP AS65010 router id 10.0.0.11 (managed BIRD)}, one line per neighbor (session, BFD, routes exported) and
     * one per VIP (announced, or why not).
     */
    static String bgpLines(io.tiergate.director.engine.BgpStatus b) {
        StringBuilder sb = new StringBuilder("BGP AS").append(b.localAs()).append(" router id ").append(b.routerId())
                .append(" (").append(b.mode().equals("attached") ? "operator's BIRD" : "BIRD run by tiergate").append(')');
        if (b.drained()) {
            sb.append(", DRAINED (enable --all announces again)");
        }
        sb.append(", ").append(b.withdrawals()).append(" withdrawal(s)\n");
        if (b.lastError() != null && !b.lastError().isEmpty()) {
            sb.append("  BGP ERROR: ").append(b.lastError()).append('\n');
        }
        for (io.tiergate.director.engine.BgpStatus.Session s : b.sessions()) {
            sb.append(String.format("  neighbor %-24s AS%-10d %-12s BFD %-8s %s%n", s.neighbor(), s.remoteAs(), s.state(),
                    s.bfd(), s.exported() < 0 ? "-" : s.exported() + " route(s) exported"));
        }
        for (io.tiergate.director.engine.BgpStatus.Vip v : b.vips()) {
            sb.append(String.format("  vip %-28s %s%n", v.prefix(), v.announced() ? "announced" : "WITHDRAWN: " + v.reason()));
        }
        return sb.toString();
    }

    /** {@code VRRP vrid 77 on eth0: MASTER, priority 150 (configured 150), master 10.77.0.11, advert 50 ms, ...}. */
    static String vrrpLine(io.tiergate.director.engine.HaStatus ha) {
        StringBuilder sb = new StringBuilder("VRRP vrid ").append(ha.vrid()).append(" on ").append(ha.interfaceName())
                .append(": ").append(ha.state()).append(", priority ").append(ha.priority());
        if (ha.priority() != ha.configuredPriority()) {
            sb.append(" (configured ").append(ha.configuredPriority()).append(')');
        }
        sb.append(", master ").append(ha.master()).append(", advert ").append(ha.advertIntervalMs()).append(" ms, ")
                .append(ha.roleChanges()).append(" role change(s)");
        if (!ha.healthy()) {
            sb.append(", UNHEALTHY (no usable real server, a failing dataplane or the interface down)");
        }
        for (String t : ha.tracking()) {
            sb.append("\nVRRP tracked: ").append(t);
        }
        for (io.tiergate.director.engine.HaStatus.Mismatch m : ha.mismatches()) {
            sb.append('\n').append(m.foreignMaster() ? "VRRP SPLIT BRAIN (" : "VRRP MISMATCH (").append(m.cause())
                    .append("): ").append(m.detail()).append(" [")
                    .append(m.adverts()).append(" adverts, last ").append(m.lastSeenMsAgo()).append(" ms ago]");
        }
        return sb.toString();
    }

    private static String serviceLine(ServiceStatus s) {
        String key = s.key().toString();
        if (s.key().byFwmark()) {
            return String.format("%-4s %d", "FWM", s.key().fwmark());
        }
        int slash = key.indexOf('/');
        return String.format("%-4s %s", key.substring(0, slash).toUpperCase(Locale.ROOT), key.substring(slash + 1));
    }

    private static String forward(String method) {
        return switch (method) {
            case "dr" -> "Route";
            case "nat" -> "Masq";
            case "tunnel" -> "Tunnel";
            default -> method;
        };
    }

    private static String n(long v) {
        return v < 0 ? "-" : Long.toString(v);
    }

    private static String per(long before, long after, double seconds) {
        if (before < 0 || after < 0 || seconds <= 0) {
            return "-";
        }
        return Long.toString(Math.round(Math.max(0, after - before) / seconds));
    }

    /** ipvsadm's K/M/G suffixes for byte counts. */
    static String human(long v) {
        if (v < 0) {
            return "-";
        }
        if (v < 100_000) {
            return Long.toString(v);
        }
        if (v < 100_000_000L) {
            return v / 1000 + "K";
        }
        if (v < 100_000_000_000L) {
            return v / 1_000_000 + "M";
        }
        return v / 1_000_000_000L + "G";
    }
}
