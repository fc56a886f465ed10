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
 * Makes this host a DR real server for some VIPs: each VIP on {@code lo} as /32 (so the kernel accepts packets
 * the director forwards unchanged), and {@code arp_ignore=1}, {@code arp_announce=2} on {@code all} and every
 * interface (so this host never answers or announces ARP for the VIP, which would steal the director's traffic).
 * {@link #undo()} removes exactly what {@link #apply()} added and restores the sysctls it changed.
 */
public final class RealServerSetup {
    private final List<String> vips;
    private final Path procSys;
    private final List<String> addedVips = new ArrayList<>();
    private final Map<String, String> changedSysctls = new LinkedHashMap<>();

    public RealServerSetup(List<String> vips) {
        this(vips, Path.of("/proc/sys"));
    }

    RealServerSetup(List<String> vips, Path procSys) {
        this.vips = List.copyOf(vips);
        this.procSys = procSys;
    }

    /** The commands an operator would run by hand; printed when we lack the privilege to run them ourselves. */
    public List<String> commands() {
        List<String> out = new ArrayList<>();
        for (String vip : vips) {
            out.add("ip addr add " + vip + (vip.contains(":") ? "/128" : "/32") + " dev lo");
        }
        for (String iface : sysctlInterfaces()) {
            out.add("sysctl -w net.ipv4.conf." + iface + ".arp_ignore=1 net.ipv4.conf." + iface + ".arp_announce=2");
        }
        return out;
    }

    /** What is missing on this host right now (empty = already set up, e.g. by the operator or a config tool). */
    public List<String> missing() {
        List<String> out = new ArrayList<>();
        String lo = Netns.runQuiet("ip", "-o", "addr", "show", "dev", "lo");
        for (String vip : vips) {
            if (!lo.contains(" " + vip + "/")) {
                out.add("VIP " + vip + " is not on lo");
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
        String lo = Netns.runQuiet("ip", "-o", "addr", "show", "dev", "lo");
        for (String vip : vips) {
            if (!lo.contains(" " + vip + "/")) {
                Netns.run("ip", "addr", "add", vip + (vip.contains(":") ? "/128" : "/32"), "dev", "lo");
                addedVips.add(vip);
            }
        }
        for (String iface : sysctlInterfaces()) {
            raise("net/ipv4/conf/" + iface + "/arp_ignore", 1);
            raise("net/ipv4/conf/" + iface + "/arp_announce", 2);
        }
    }

    public void undo() {
        for (String vip : addedVips) {
            Netns.runQuiet("ip", "addr", "del", vip + (vip.contains(":") ? "/128" : "/32"), "dev", "lo");
        }
        addedVips.clear();
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
        Integer cur = read(key).orElse(null);
        if (cur == null || cur >= atLeast) {
            return;
        }
        try {
            Files.writeString(procSys.resolve(key), String.valueOf(atLeast));
            changedSysctls.put(key, String.valueOf(cur));
        } catch (IOException e) {
            throw new IllegalStateException("cannot set " + key.replace('/', '.') + "=" + atLeast + ": " + e.getMessage(), e);
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
