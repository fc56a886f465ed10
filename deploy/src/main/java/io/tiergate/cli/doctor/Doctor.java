package io.tiergate.cli.doctor;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * Checks the network setup LVS-style load balancing depends on and explains each problem with its fix. Most
 * failed LVS deployments are network setup, not configuration: a VIP on the wrong interface, a real server that
 * answers ARP for the VIP, a real server behind a router in DR mode, a listener bound to the wrong address.
 */
public final class Doctor {
    public enum Role { DIRECTOR, REAL_SERVER }

    public enum Mode { DR, NAT, TUNNEL }

    /** What to check: the VIPs and ports of the services, and (on a director) the real servers. */
    public record Plan(Role role, Mode mode, List<String> vips, List<Integer> ports, List<String> realServers) {
    }

    private final HostState host;

    public Doctor() {
        this(new HostState());
    }

    Doctor(HostState host) {
        this.host = host;
    }

    public List<Finding> run(Plan plan) {
        List<Finding> out = new ArrayList<>();
        if (plan.role() == Role.REAL_SERVER) {
            realServer(plan, out);
        } else {
            director(plan, out);
        }
        return out;
    }

    // ---- real server -------------------------------------------------------------------------------------

    private void realServer(Plan plan, List<Finding> out) {
        List<HostState.Address> addrs = host.addresses();
        for (String vip : plan.vips()) {
            boolean onLo = false;
            for (HostState.Address a : addrs) {
                if (!vip.equals(a.address())) {
                    continue;
                }
                if (a.ifname().equals("lo") || (plan.mode() == Mode.TUNNEL && a.ifname().equals(TUNNEL_DEVICE))) {
                    onLo = true;
                    if (plan.mode() == Mode.DR && a.prefixLen() != 32 && a.prefixLen() != 128) {
                        out.add(Finding.warn("VIP " + vip, "on lo as /" + a.prefixLen()
                                        + ": the whole prefix becomes local and unreachable beyond this host",
                                "ip addr del " + vip + "/" + a.prefixLen() + " dev lo && ip addr add " + vip + "/32 dev lo"));
                    }
                } else {
                    out.add(Finding.fail("VIP " + vip, "is on " + a.ifname()
                                    + ": this real server will answer ARP for the VIP and steal traffic from the director",
                            "ip addr del " + vip + "/" + a.prefixLen() + " dev " + a.ifname()
                                    + (plan.mode() == Mode.DR ? " && ip addr add " + vip + "/32 dev lo" : "")));
                }
            }
            if (plan.mode() == Mode.DR) {
                if (onLo) {
                    out.add(Finding.ok("VIP " + vip, "on lo: this host accepts packets the director forwards to it"));
                } else {
                    out.add(Finding.fail("VIP " + vip, "not on lo: packets the director forwards (to the VIP) are dropped",
                            "ip addr add " + vip + "/32 dev lo"));
                }
            } else if (plan.mode() == Mode.TUNNEL) {
                if (onLo) {
                    out.add(Finding.ok("VIP " + vip, "local (on tunl0 or lo): packets the director tunnels to it are accepted"));
                } else {
                    out.add(Finding.fail("VIP " + vip, "not on tunl0 (nor lo): the packets the director tunnels here carry "
                            + "the VIP as destination and are dropped", "ip addr add " + vip + "/32 dev tunl0"));
                }
            } else if (plan.mode() == Mode.NAT && onLo) {
                out.add(Finding.warn("VIP " + vip, "on lo, but NAT mode rewrites the destination to this host's own address",
                        "ip addr del " + vip + "/32 dev lo"));
            }
        }
        if (plan.mode() != Mode.NAT) {
            arpSettings(out);
        }
        if (plan.mode() == Mode.TUNNEL) {
            tunnelEndpoint(plan, addrs, out);
        }
        rpFilter(out);
        listeners(plan, out);
    }

    private static final String TUNNEL_DEVICE = "tunl0";
    /** The MSS clamp's nft table (what {@code tiergate proxy} with {@code dr.mode: tunnel} installs). */
    private static final String MSS_TABLE = "inet tiergate_rs";

    /** tunl0 present and up, and the MSS the VIPs advertise small enough for the tunnel. */
    private void tunnelEndpoint(Plan plan, List<HostState.Address> addrs, List<Finding> out) {
        Optional<HostState.Address> tunl = addrs.stream().filter(a -> a.ifname().equals(TUNNEL_DEVICE)).findFirst();
        if (tunl.isEmpty()) {
            out.add(Finding.fail(TUNNEL_DEVICE, "missing: this kernel has not loaded the ipip module, so nothing "
                            + "decapsulates what the director tunnels here",
                    "modprobe ipip && ip link set tunl0 up   # the kernel needs CONFIG_NET_IPIP (Debian's has it)"));
        } else if (!tunl.get().up()) {
            out.add(Finding.fail(TUNNEL_DEVICE, "down: tunnelled packets are dropped", "ip link set tunl0 up"));
        } else {
            out.add(Finding.ok(TUNNEL_DEVICE, "up (MTU " + tunl.get().mtu() + "): decapsulates IPIP from any director"));
        }
        if (host.nftTables().contains("table " + MSS_TABLE)) {
            out.add(Finding.ok("MSS for the VIPs", "clamped by nft table " + MSS_TABLE));
        } else {
            String v4 = String.join(", ", plan.vips().stream().filter(v -> !v.contains(":")).toList());
            out.add(Finding.warn("MSS for the VIPs", "not clamped: clients send segments sized for this host's own MTU, "
                            + "the 20-byte IPIP header makes them too big for the path, and the director (which "
                            + "forwards from ingress) sends no ICMP back, so large requests hang",
                    "set dr.mode: tunnel in the proxy config (it installs the clamp), or: nft add table " + MSS_TABLE
                            + "; nft 'add chain " + MSS_TABLE + " output { type filter hook output priority mangle; }'; "
                            + "nft 'add rule " + MSS_TABLE + " output ip saddr { " + v4 + " } tcp flags & (syn | ack) == "
                            + "syn | ack tcp option maxseg size > 1440 tcp option maxseg size set 1440'   # 1440 = tunnel MTU 1480 − 40"));
        }
    }

    private void arpSettings(List<Finding> out) {
        int ignoreAll = host.sysctlInt("net.ipv4.conf.all.arp_ignore", 0);
        int announceAll = host.sysctlInt("net.ipv4.conf.all.arp_announce", 0);
        for (String ifname : host.interfacesUp()) {
            // The kernel uses the larger of "all" and the interface's own value.
            int ignore = Math.max(ignoreAll, host.sysctlInt("net.ipv4.conf." + ifname + ".arp_ignore", 0));
            int announce = Math.max(announceAll, host.sysctlInt("net.ipv4.conf." + ifname + ".arp_announce", 0));
            if (ignore >= 1) {
                out.add(Finding.ok("arp_ignore on " + ifname, ignore + ": ARP for the VIP on lo is not answered"));
            } else {
                out.add(Finding.fail("arp_ignore on " + ifname, "0: this host answers ARP for the VIP on lo and "
                                + "clients' traffic bypasses the director",
                        "sysctl -w net.ipv4.conf.all.arp_ignore=1 net.ipv4.conf." + ifname + ".arp_ignore=1"));
            }
            if (announce >= 2) {
                out.add(Finding.ok("arp_announce on " + ifname, announce + ": ARP requests never carry the VIP as sender"));
            } else {
                out.add(Finding.fail("arp_announce on " + ifname, announce + ": ARP requests from this host may "
                                + "announce the VIP and poison the router's cache",
                        "sysctl -w net.ipv4.conf.all.arp_announce=2 net.ipv4.conf." + ifname + ".arp_announce=2"));
            }
        }
    }

    private void rpFilter(List<Finding> out) {
        List<String> ifs = host.interfacesUp();
        int all = host.sysctlInt("net.ipv4.conf.all.rp_filter", 0);
        for (String ifname : ifs) {
            int v = Math.max(all, host.sysctlInt("net.ipv4.conf." + ifname + ".rp_filter", 0));
            if (ifname.startsWith("tunl") && v == 1) {
                out.add(Finding.fail("rp_filter on " + ifname, v + " (strict, the larger of all and " + ifname
                                + "): tunnelled packets carry the client's source address, which routes back via another "
                                + "interface, and are dropped", "sysctl -w net.ipv4.conf.all.rp_filter=2 net.ipv4.conf."
                                + ifname + ".rp_filter=0"));
            } else if (v == 1 && ifs.size() > 1) {
                out.add(Finding.warn("rp_filter on " + ifname, "1 (strict) with " + ifs.size()
                                + " interfaces up: packets arriving on a path other than the route back are dropped",
                        "sysctl -w net.ipv4.conf." + ifname + ".rp_filter=2   # loose"));
            } else {
                out.add(Finding.ok("rp_filter on " + ifname, String.valueOf(v)));
            }
        }
    }

    private void listeners(Plan plan, List<Finding> out) {
        List<HostState.Listener> ls = host.tcpListeners();
        for (int port : plan.ports()) {
            List<String> bound = new ArrayList<>();
            boolean good = false;
            for (HostState.Listener l : ls) {
                if (l.port() != port) {
                    continue;
                }
                bound.add(l.address());
                good |= l.address().equals("0.0.0.0") || l.address().equals("::") || plan.vips().contains(l.address());
            }
            if (good) {
                out.add(Finding.ok("listener :" + port, "bound to " + String.join(", ", bound)));
            } else if (bound.isEmpty()) {
                out.add(Finding.fail("listener :" + port, "nothing listens on TCP port " + port,
                        "start the service on 0.0.0.0:" + port + " (or the VIP)"));
            } else {
                out.add(Finding.fail("listener :" + port, "bound only to " + String.join(", ", bound)
                                + ": connections to the VIP are refused",
                        "bind to 0.0.0.0:" + port + " or to " + String.join(" and ", plan.vips()) + ":" + port));
            }
        }
    }

    // ---- director ----------------------------------------------------------------------------------------

    private void director(Plan plan, List<Finding> out) {
        List<HostState.Address> addrs = host.addresses();
        String vipIf = null;
        for (String vip : plan.vips()) {
            Optional<HostState.Address> owner = addrs.stream().filter(a -> vip.equals(a.address())).findFirst();
            if (owner.isEmpty()) {
                out.add(Finding.warn("VIP " + vip, "not on any interface: fine on a standby director, wrong on the "
                                + "active one (clients' ARP for the VIP goes unanswered)",
                        "on the active director: ip addr add " + vip + "/32 dev <the client-facing interface>"));
            } else if (owner.get().ifname().equals("lo")) {
                out.add(Finding.fail("VIP " + vip, "on lo: the director must answer ARP for the VIP on the client-facing "
                                + "interface", "ip addr del " + vip + "/" + owner.get().prefixLen()
                                + " dev lo && ip addr add " + vip + "/32 dev <client-facing interface>"));
            } else {
                vipIf = owner.get().ifname();
                out.add(Finding.ok("VIP " + vip, "on " + vipIf));
            }
        }
        if (plan.mode() == Mode.NAT) {
            int fwd = host.sysctlInt("net.ipv4.ip_forward", 0);
            if (fwd == 1) {
                out.add(Finding.ok("ip_forward", "1: replies from real servers are routed back to clients"));
            } else {
                out.add(Finding.fail("ip_forward", fwd + ": NAT mode routes replies through the director",
                        "sysctl -w net.ipv4.ip_forward=1"));
            }
        }
        if (plan.mode() == Mode.TUNNEL) {
            if (host.kernelModuleAvailable("ipip")) {
                out.add(Finding.ok("IPIP", "the kernel has the ipip module: method tunnel can create its tgt- devices"));
            } else {
                out.add(Finding.fail("IPIP", "this kernel has no ipip module (CONFIG_NET_IPIP): method tunnel on the nft "
                                + "dataplane refuses to start", "use a kernel with IPIP (Debian's has it), or method dr"
                                + " (same L2 segment) or nat"));
            }
        }
        boolean nft = host.libnftablesPresent();
        boolean ipvs = host.ipvsPresent();
        if (ipvs) {
            out.add(Finding.ok("dataplane", "IPVS is in this kernel: dataplane auto picks ipvs"));
        } else if (nft) {
            out.add(Finding.ok("dataplane", "no IPVS in this kernel; libnftables.so.1 is present: dataplane auto picks nft"
                    + (host.isRoot() ? "" : " when run as root")));
        } else {
            out.add(Finding.warn("dataplane", "neither IPVS nor libnftables.so.1: only the userspace dataplane can run "
                    + "(a full proxy; DR and NAT are not possible)", "modprobe ip_vs   # or: apt-get install libnftables1"));
        }
        for (String rs : plan.realServers()) {
            int port = plan.ports().isEmpty() ? 80 : plan.ports().get(0);
            Optional<HostState.Route> route = host.routeTo(rs);
            if (route.isEmpty()) {
                out.add(Finding.fail("real server " + rs, "no route to it", "add an address on its subnet, "
                        + "e.g. ip addr add <director ip>/<prefix> dev <interface>"));
                continue;
            }
            if (plan.mode() == Mode.DR && route.get().gateway() != null) {
                out.add(Finding.fail("real server " + rs, "reached via router " + route.get().gateway()
                                + ": DR rewrites only the MAC address, so real servers must share the director's L2 segment",
                        "put " + rs + " on the same segment as " + route.get().dev() + ", or use forward: tunnel or nat"));
                continue;
            }
            Optional<String> neigh = host.resolveNeighbour(rs, port);
            String state = neigh.orElse("none");
            if (route.get().gateway() == null && (state.equals("FAILED") || state.equals("INCOMPLETE") || state.equals("none"))) {
                out.add(Finding.fail("real server " + rs, "on " + route.get().dev() + " but does not answer ARP ("
                                + state + ")", "check that " + rs + " is up and on the same segment as " + route.get().dev()));
            } else {
                out.add(Finding.ok("real server " + rs, "on " + route.get().dev() + (route.get().gateway() == null
                        ? ", same L2 segment, neighbour " + state : " via " + route.get().gateway())));
            }
            if (vipIf != null) {
                int in = host.mtu(vipIf);
                int outMtu = host.mtu(route.get().dev());
                int need = plan.mode() == Mode.TUNNEL ? in + 20 : in;
                if (outMtu >= 0 && in >= 0 && outMtu < need) {
                    out.add(Finding.fail("MTU toward " + rs, route.get().dev() + " has MTU " + outMtu + " but packets for the VIP "
                                    + "arrive on " + vipIf + " with up to " + in + (plan.mode() == Mode.TUNNEL
                                    ? " (+20 bytes of IPIP header)" : "") + ": large packets are dropped",
                            "ip link set dev " + vipIf + " mtu " + (plan.mode() == Mode.TUNNEL ? outMtu - 20 : outMtu)
                                    + "   # or raise " + route.get().dev() + "'s MTU to " + need));
                } else if (outMtu >= 0 && in >= 0) {
                    out.add(Finding.ok("MTU toward " + rs, vipIf + " " + in + " → " + route.get().dev() + " " + outMtu));
                }
            }
        }
    }
}
