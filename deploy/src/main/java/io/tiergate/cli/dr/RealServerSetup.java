package io.tiergate.cli.dr;

import io.tiergate.cli.lab.Netns;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Makes this host a DR (or, with a tunnel MTU, an IPIP tunnel) real server for some VIPs: each VIP on {@code lo} as /32 (so the kernel accepts packets
 * the director forwards unchanged), and {@code arp_ignore=1}, {@code arp_announce=2} on {@code all} and every
 * interface (so this host never answers or announces ARP for the VIP, which would steal the director's traffic).
 * {@link #undo()} removes exactly what {@link #apply()} added and restores the sysctls it changed.
 *
 * <p>Tunnel mode (LVS-TUN; the nft dataplane's method tunnel): the director reaches this host through IPIP from
 * beyond its segment. The IPv4 VIPs go on {@code tunl0} (the ipip module's catch-all device, which decapsulates what
 * any director sends), reverse-path filtering is off on tunl0 and at most loose on {@code all} (the inner source is
 * the client, which routes back via another interface), ARP as in DR, and an nft table {@value #MSS_TABLE} makes the
 * SYN-ACKs from the VIPs advertise MSS {@code tunnel MTU − 40}: the client's segments then fit the tunnel. Without it a
 * full-size segment plus the 20-byte outer header exceeds the path MTU and is dropped at the director, which forwards
 * from ingress and sends no ICMP back — large requests hang (measured in the VM test).
 */
public final class RealServerSetup {
    /** The nft table of tunnel mode's MSS clamp (inet family; output hook). */
    public static final String MSS_TABLE = "inet tiergate_rs";
    private static final String TUNNEL_DEVICE = "tunl0";

    private final List<String> vips;
    private final Path procSys;
    /** 0 in DR mode; in tunnel mode the tunnel's MTU. */
    private final int tunnelMtu;
    private final List<String> addedVips = new ArrayList<>();
    private boolean addedMssTable;
    private final Map<String, String> changedSysctls = new LinkedHashMap<>();

    public RealServerSetup(List<String> vips) {
        this(vips, Path.of("/proc/sys"), 0);
    }

    /** Tunnel mode when {@code tunnelMtu > 0}. */
    public RealServerSetup(List<String> vips, int tunnelMtu) {
        this(vips, Path.of("/proc/sys"), tunnelMtu);
    }

    RealServerSetup(List<String> vips, Path procSys) {
        this(vips, procSys, 0);
    }

    RealServerSetup(List<String> vips, Path procSys, int tunnelMtu) {
        this.vips = List.copyOf(vips);
        this.procSys = procSys;
        this.tunnelMtu = tunnelMtu;
    }

    public boolean tunnel() {
        return tunnelMtu > 0;
    }

    /** Where a VIP goes: tunl0 in tunnel mode (IPIP carries IPv4 only, so IPv6 VIPs stay on lo), else lo. */
    String deviceFor(String vip) {
        return tunnel() && !vip.contains(":") ? TUNNEL_DEVICE : "lo";
    }

    /** A short description for the start-up log line. */
    public String describe() {
        return tunnel() ? "VIP on tunl0, rp_filter 0 on tunl0 and at most 2 on all, arp_ignore=1, arp_announce=2, MSS "
                + (tunnelMtu - 40) + " for the VIPs (nft table " + MSS_TABLE + ")"
                : "VIP on lo, arp_ignore=1, arp_announce=2";
    }

    /** The nft batch of the MSS clamp, one command a line. */
    List<String> mssBatch() {
        List<String> v4 = vips.stream().filter(v -> !v.contains(":")).toList();
        int mss = tunnelMtu - 40;
        return List.of("add table " + MSS_TABLE,
                "add chain " + MSS_TABLE + " output { type filter hook output priority mangle; policy accept; }",
                "add rule " + MSS_TABLE + " output ip saddr { " + String.join(", ", v4) + " } tcp flags & (syn | ack) == "
                        + "syn | ack tcp option maxseg size > " + mss + " tcp option maxseg size set " + mss);
    }

    /** The commands an operator would run by hand; printed when we lack the privilege to run them ourselves. */
    public List<String> commands() {
        List<String> out = new ArrayList<>();
        if (tunnel()) {
            out.add("modprobe ipip && ip link set " + TUNNEL_DEVICE + " up");
        }
        for (String vip : vips) {
            out.add("ip addr add " + vip + (vip.contains(":") ? "/128" : "/32") + " dev " + deviceFor(vip));
        }
        for (String iface : sysctlInterfaces()) {
            out.add("sysctl -w net.ipv4.conf." + iface + ".arp_ignore=1 net.ipv4.conf." + iface + ".arp_announce=2");
        }
        if (tunnel()) {
            out.add("sysctl -w net.ipv4.conf." + TUNNEL_DEVICE + ".rp_filter=0"
                    + (read("net/ipv4/conf/all/rp_filter").orElse(0) == 1 ? " net.ipv4.conf.all.rp_filter=2" : ""));
            mssBatch().forEach(c -> out.add("nft '" + c + "'"));
        }
        return out;
    }

    /** What is missing on this host right now (empty = already set up, e.g. by the operator or a config tool). */
    public List<String> missing() {
        List<String> out = new ArrayList<>();
        for (String vip : vips) {
            String dev = deviceFor(vip);
            if (!Netns.runQuiet("ip", "-o", "addr", "show", "dev", dev).contains(" " + vip + "/")) {
                out.add("VIP " + vip + " is not on " + dev);
            }
        }
        if (tunnel()) {
            if (!Files.isDirectory(procSys.resolve("net/ipv4/conf/" + TUNNEL_DEVICE))) {
                out.add("there is no " + TUNNEL_DEVICE + " (the kernel's ipip module is not loaded)");
            } else if (Math.max(read("net/ipv4/conf/all/rp_filter").orElse(0),
                    read("net/ipv4/conf/" + TUNNEL_DEVICE + "/rp_filter").orElse(0)) == 1) {
                out.add("rp_filter is strict (1) on " + TUNNEL_DEVICE + " and drops tunnelled packets");
            }
            if (!Netns.runQuiet("nft", "list", "tables").contains("table " + MSS_TABLE)) {
                out.add("no MSS clamp for the VIPs (nft table " + MSS_TABLE + ")");
            }
        }
        for (String iface : sysctlInterfaces()) {
            if (read("net/ipv4/conf/" + iface + "/arp_ignore").orElse(0) < 1 && !iface.equals("all")
                    && read("net/ipv4/conf/all/arp_ignore").orElse(0) < 1) {
                out.add("arp_ignore is 0 on " + iface);
            }
            if (read("net/ipv4/conf/" + iface + "/arp_announce").orElse(0) < 2 && !iface.equals("all")
                    && read("net/ipv4/conf/all/arp_announce").orElse(0) < 2) {
                out.add("arp_announce is below 2 on " + iface);
            }
        }
        return out;
    }

    public void apply() {
        if (tunnel()) {
            Netns.runQuiet("modprobe", "ipip");
            if (!Files.isDirectory(procSys.resolve("net/ipv4/conf/" + TUNNEL_DEVICE))) {
                throw new IllegalStateException("dr.mode tunnel needs the kernel's IPIP tunnels (" + TUNNEL_DEVICE
                        + "), but `modprobe ipip` did not add them: this kernel lacks CONFIG_NET_IPIP");
            }
            Netns.run("ip", "link", "set", TUNNEL_DEVICE, "up");
        }
        for (String vip : vips) {
            String dev = deviceFor(vip);
            if (!Netns.runQuiet("ip", "-o", "addr", "show", "dev", dev).contains(" " + vip + "/")) {
                Netns.run("ip", "addr", "add", vip + (vip.contains(":") ? "/128" : "/32"), "dev", dev);
                addedVips.add(vip);
            }
        }
        for (String iface : sysctlInterfaces()) {
            raise("net/ipv4/conf/" + iface + "/arp_ignore", 1);
            raise("net/ipv4/conf/" + iface + "/arp_announce", 2);
        }
        if (tunnel()) {
            lower("net/ipv4/conf/" + TUNNEL_DEVICE + "/rp_filter", 0);
            if (read("net/ipv4/conf/all/rp_filter").orElse(0) == 1) {
                lower("net/ipv4/conf/all/rp_filter", 2); // loose keeps the check elsewhere; strict would drop
            }
            if (!Netns.runQuiet("nft", "list", "tables").contains("table " + MSS_TABLE)) {
                Netns.run("nft", String.join("\n", mssBatch()));
                addedMssTable = true;
            }
        }
    }

    public void undo() {
        for (String vip : addedVips) {
            Netns.runQuiet("ip", "addr", "del", vip + (vip.contains(":") ? "/128" : "/32"), "dev", deviceFor(vip));
        }
        addedVips.clear();
        if (addedMssTable) {
            Netns.runQuiet("nft", "delete", "table", MSS_TABLE);
            addedMssTable = false;
        }
        changedSysctls.forEach((key, old) -> {
            try {
                Files.writeString(procSys.resolve(key), old);
            } catch (IOException ignored) {
                // The interface may be gone; nothing left to restore.
            }
        });
        changedSysctls.clear();
    }

    public List<String> addedVips() {
        return List.copyOf(addedVips);
    }

    private void raise(String key, int atLeast) {
        read(key).filter(cur -> cur < atLeast).ifPresent(cur -> write(key, cur, atLeast));
    }

    private void lower(String key, int atMost) {
        read(key).filter(cur -> cur > atMost).ifPresent(cur -> write(key, cur, atMost));
    }

    /** Sets a sysctl and remembers its old value for {@link #undo()}. */
    private void write(String key, int old, int value) {
        try {
            Files.writeString(procSys.resolve(key), String.valueOf(value));
            changedSysctls.put(key, String.valueOf(old));
        } catch (IOException e) {
            throw new IllegalStateException("cannot set " + key.replace('/', '.') + "=" + value + ": " + e.getMessage(), e);
        }
    }

    private java.util.Optional<Integer> read(String key) {
        try {
            return java.util.Optional.of(Integer.parseInt(Files.readString(procSys.resolve(key)).trim()));
        } catch (IOException | NumberFormatException e) {
            return java.util.Optional.empty();
        }
    }

    private List<String> sysctlInterfaces() {
        List<String> out = new ArrayList<>(List.of("all"));
        try (var s = Files.list(procSys.resolve("net/ipv4/conf"))) {
            s.map(p -> p.getFileName().toString())
                    .filter(n -> !n.equals("all") && !n.equals("default") && !n.equals("lo"))
                    .sorted()
                    .forEach(out::add);
        } catch (IOException ignored) {
            // No /proc: only "all".
        }
        return out;
    }
}
