package io.tiergate.director.config;

import io.tiergate.director.bgp.BgpConfig;
import io.tiergate.director.dataplane.DataplaneKind;
import io.tiergate.director.ha.VrrpConfig;
import io.tiergate.director.model.ConnectionSync;
import io.tiergate.director.model.FlowTable;
import io.tiergate.director.model.ForwardingMethod;
import io.tiergate.director.model.OnFailure;
import io.tiergate.director.model.Persistence;
import io.tiergate.director.model.Protocol;
import io.tiergate.director.model.RealServer;
import io.tiergate.director.model.Scheduler;
import io.tiergate.director.model.ServiceKey;
import io.tiergate.director.model.VirtualService;
import io.tiergate.shared.config.ConfigMap;
import io.tiergate.shared.config.ConfigNode;
import io.tiergate.shared.config.HostPort;
import io.tiergate.shared.config.Problems;
import io.tiergate.shared.health.HealthCheck;
import io.tiergate.shared.health.HealthCheckConfig;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Pattern;
import io.tiergate.shared.admin.AdminAccess;

/**
 * The {@code director:} section: which dataplane, director-wide settings and the virtual services. Every key, its
 * default and an example are in docs/config.md ({@code ## Director}).
 *
 * @param interfaceName device whose ingress the nft DR dataplane hooks and forwards out of (e.g. eth0)
 * @param hashSeed      jhash seed of the nft dataplane; must be the same on every director so none remaps flows
 * @param maglevSize    minimum Maglev table size per service (a prime is chosen at or above it)
 * @param flowTable     stateful flow pinning of the nft DR path ({@link FlowTable#OFF} for purely stateless)
 * @param sync          IPVS connection sync daemon, started as master or backup according to the HA role
 * @param vrrp          the {@code vrrp:} subsection: a VRRPv3 instance that owns the VIPs (empty: none, or
 *                      {@code enabled: false}); see docs/ha.md
 * @param bgp           the {@code bgp:} subsection: announce the VIPs to upstream routers (N active directors behind
 *                      ECMP); see docs/scale-out.md
 * @param adminAccess   credentials and TLS of the admin endpoint ({@code admin_auth:}, {@code admin_tls:})
 */
public record DirectorConfig(DataplaneKind dataplane, Optional<String> interfaceName, long hashSeed, int maglevSize,
                             Duration repairInterval, Duration resolveInterval, Duration connectTimeout,
                             Duration udpIdleTimeout, Optional<HostPort> admin,
                             List<VirtualService> services, FlowTable flowTable, Optional<ConnectionSync> sync,
                             Optional<VrrpConfig> vrrp, Optional<BgpConfig> bgp, AdminAccess adminAccess) {

    public static final long DEFAULT_HASH_SEED = 0x74696572L; // "tier"; nft seeds are 32 bits
    public static final int DEFAULT_MAGLEV_SIZE = 1021;
    public static final HostPort DEFAULT_ADMIN = new HostPort("127.0.0.1", 9180);

    private static final Pattern IPV4 = Pattern.compile(
            "((25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)\\.){3}(25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)");

    public DirectorConfig {
        services = List.copyOf(services);
        java.util.Objects.requireNonNull(flowTable, "flowTable");
        java.util.Objects.requireNonNull(sync, "sync");
        java.util.Objects.requireNonNull(vrrp, "vrrp");
        java.util.Objects.requireNonNull(bgp, "bgp");
        java.util.Objects.requireNonNull(adminAccess, "adminAccess");
    }

    /** With BGP and an open (loopback, no credentials) admin endpoint. */
    public DirectorConfig(DataplaneKind dataplane, Optional<String> interfaceName, long hashSeed, int maglevSize,
                          Duration repairInterval, Duration resolveInterval, Duration connectTimeout,
                          Duration udpIdleTimeout, Optional<HostPort> admin, List<VirtualService> services,
                          FlowTable flowTable, Optional<ConnectionSync> sync, Optional<VrrpConfig> vrrp,
                          Optional<BgpConfig> bgp) {
        this(dataplane, interfaceName, hashSeed, maglevSize, repairInterval, resolveInterval, connectTimeout,
                udpIdleTimeout, admin, services, flowTable, sync, vrrp, bgp, AdminAccess.OPEN);
    }

    /** Without BGP, with an open admin endpoint (tests, tools written before them). */
    public DirectorConfig(DataplaneKind dataplane, Optional<String> interfaceName, long hashSeed, int maglevSize,
                          Duration repairInterval, Duration resolveInterval, Duration connectTimeout,
                          Duration udpIdleTimeout, Optional<HostPort> admin, List<VirtualService> services,
                          FlowTable flowTable, Optional<ConnectionSync> sync, Optional<VrrpConfig> vrrp) {
        this(dataplane, interfaceName, hashSeed, maglevSize, repairInterval, resolveInterval, connectTimeout,
                udpIdleTimeout, admin, services, flowTable, sync, vrrp, Optional.empty(), AdminAccess.OPEN);
    }

    /** Without VRRP (tests, tools written before it). */
    public DirectorConfig(DataplaneKind dataplane, Optional<String> interfaceName, long hashSeed, int maglevSize,
                          Duration repairInterval, Duration resolveInterval, Duration connectTimeout,
                          Duration udpIdleTimeout, Optional<HostPort> admin, List<VirtualService> services,
                          FlowTable flowTable, Optional<ConnectionSync> sync) {
        this(dataplane, interfaceName, hashSeed, maglevSize, repairInterval, resolveInterval, connectTimeout,
                udpIdleTimeout, admin, services, flowTable, sync, Optional.empty());
    }

    /** A config with defaults and these services, for tests and embedding. */
    public static DirectorConfig of(DataplaneKind dataplane, List<VirtualService> services) {
        return new DirectorConfig(dataplane, Optional.empty(), DEFAULT_HASH_SEED, DEFAULT_MAGLEV_SIZE,
                Duration.ofSeconds(10), Duration.ofSeconds(30), Duration.ofSeconds(3), Duration.ofSeconds(60),
                Optional.empty(), services, FlowTable.DEFAULT, Optional.empty());
    }

    public DirectorConfig withServices(List<VirtualService> newServices) {
        return new DirectorConfig(dataplane, interfaceName, hashSeed, maglevSize, repairInterval, resolveInterval,
                connectTimeout, udpIdleTimeout, admin, newServices, flowTable, sync, vrrp, bgp, adminAccess);
    }

    public DirectorConfig withDataplane(DataplaneKind kind) {
        return new DirectorConfig(kind, interfaceName, hashSeed, maglevSize, repairInterval, resolveInterval,
                connectTimeout, udpIdleTimeout, admin, services, flowTable, sync, vrrp, bgp, adminAccess);
    }

    public DirectorConfig withAdmin(Optional<HostPort> newAdmin) {
        return new DirectorConfig(dataplane, interfaceName, hashSeed, maglevSize, repairInterval, resolveInterval,
                connectTimeout, udpIdleTimeout, newAdmin, services, flowTable, sync, vrrp, bgp, adminAccess);
    }

    public DirectorConfig withFlowTable(FlowTable table) {
        return new DirectorConfig(dataplane, interfaceName, hashSeed, maglevSize, repairInterval, resolveInterval,
                connectTimeout, udpIdleTimeout, admin, services, table, sync, vrrp, bgp, adminAccess);
    }

    public DirectorConfig withSync(Optional<ConnectionSync> newSync) {
        return new DirectorConfig(dataplane, interfaceName, hashSeed, maglevSize, repairInterval, resolveInterval,
                connectTimeout, udpIdleTimeout, admin, services, flowTable, newSync, vrrp, bgp, adminAccess);
    }

    public DirectorConfig withVrrp(Optional<VrrpConfig> newVrrp) {
        return new DirectorConfig(dataplane, interfaceName, hashSeed, maglevSize, repairInterval, resolveInterval,
                connectTimeout, udpIdleTimeout, admin, services, flowTable, sync, newVrrp, bgp, adminAccess);
    }

    public DirectorConfig withBgp(Optional<BgpConfig> newBgp) {
        return new DirectorConfig(dataplane, interfaceName, hashSeed, maglevSize, repairInterval, resolveInterval,
                connectTimeout, udpIdleTimeout, admin, services, flowTable, sync, vrrp, newBgp, adminAccess);
    }

    /**
     * The prefixes BGP announces: every service VIP as a /32 or /128, once each, in config order (fwmark services
     * have no VIP of their own).
     */
    public List<String> vipPrefixes() {
        Set<String> out = new LinkedHashSet<>();
        for (VirtualService s : services) {
            if (!s.key().byFwmark()) {
                out.add(s.key().vip() + (s.key().vip().indexOf(':') >= 0 ? "/128" : "/32"));
            }
        }
        return List.copyOf(out);
    }

    public Optional<VirtualService> service(String name) {
        return services.stream().filter(s -> s.name().equals(name)).findFirst();
    }

    /** Reads the section, recording every problem in {@code section.problems()}. */
    public static DirectorConfig parse(ConfigMap section) {
        Problems problems = section.problems();
        int before = problems.size();
        DataplaneKind dataplane = section.enumValue("dataplane", DataplaneKind.class, DataplaneKind.AUTO);
        if (dataplane == DataplaneKind.FAKE) {
            section.error("dataplane", "'fake' is for tests only", "one of auto, ipvs, nft, userspace");
        }
        Optional<String> iface = Optional.ofNullable(section.string("interface", null));
        long seed = section.longValue("hash_seed", DEFAULT_HASH_SEED, 0, 0xFFFF_FFFFL);
        int maglev = section.integer("maglev_size", DEFAULT_MAGLEV_SIZE, 2, 1 << 20);
        Duration repair = section.duration("repair_interval", Duration.ofSeconds(10), Duration.ofMillis(100));
        Duration resolve = section.duration("resolve_interval", Duration.ofSeconds(30), Duration.ofSeconds(1));
        Duration connect = section.duration("connect_timeout", Duration.ofSeconds(3), Duration.ofMillis(1));
        Duration udpIdle = section.duration("udp_idle_timeout", Duration.ofSeconds(60), Duration.ofSeconds(1));
        Optional<HostPort> admin = Optional.of(DEFAULT_ADMIN);
        if (section.has("admin")) {
            String text = section.string("admin", "");
            if (text.equalsIgnoreCase("off") || text.equalsIgnoreCase("false")) {
                admin = Optional.empty();
            } else {
                admin = Optional.of(section.hostPort("admin", DEFAULT_ADMIN, DEFAULT_ADMIN.port()));
            }
        }

        FlowTable flowTable = FlowTable.DEFAULT;
        Optional<ConfigNode> ftRaw = section.raw("flow_table");
        if (ftRaw.isPresent() && ftRaw.get() instanceof ConfigNode.Scalar sc
                && (sc.text().trim().equalsIgnoreCase("off") || sc.text().trim().equalsIgnoreCase("false"))) {
            flowTable = FlowTable.OFF;
            section.known("flow_table");
        } else if (ftRaw.isPresent()) {
            Optional<ConfigMap> ft = section.map("flow_table");
            if (ft.isPresent()) {
                int size = ft.get().integer("size", FlowTable.DEFAULT.size(), 0, 1 << 24);
                Duration timeout = ft.get().duration("timeout", FlowTable.DEFAULT.timeout(), Duration.ofSeconds(1));
                ft.get().finish();
                flowTable = new FlowTable(size, timeout);
            }
        }
        Optional<ConnectionSync> sync = Optional.empty();
        Optional<ConfigMap> sm = section.map("sync");
        if (sm.isPresent()) {
            String syncIface = sm.get().requireString("interface", "the device the sync daemon multicasts on, e.g. eth0");
            int syncId = sm.get().integer("syncid", 0, 0, 255);
            sm.get().finish();
            if (syncIface != null && !syncIface.isEmpty()) {
                if (syncIface.length() > 15) {
                    sm.get().error("interface", "'" + syncIface + "' is longer than 15 characters", "a device name");
                } else {
                    sync = Optional.of(new ConnectionSync(syncIface, syncId));
                }
            }
        }

        Optional<VrrpConfig> vrrp = Optional.empty();
        Optional<ConfigMap> vm = section.map("vrrp");
        if (vm.isPresent()) {
            VrrpConfig vc = VrrpConfig.parse(vm.get()); // records its problems with positions, calls finish()
            if (vc.enabled()) {
                vrrp = Optional.of(vc);
            }
        }
        Optional<BgpConfig> bgp = Optional.empty();
        Optional<ConfigMap> bm = section.map("bgp");
        if (bm.isPresent()) {
            bgp = Optional.of(BgpConfig.parse(bm.get())); // records its problems with positions, calls finish()
            if (vrrp.isPresent()) {
                bm.get().error("local_as", "bgp and vrrp are two ways to own the VIPs; a director uses one",
                        "either bgp (every director active behind ECMP) or vrrp (an active/standby pair)");
            }
        }
        Map<String, ConfigMap> serviceMaps = new HashMap<>();

        List<VirtualService> services = new ArrayList<>();
        Map<ServiceKey, String> keys = new HashMap<>();
        Map<String, ConfigMap> named = section.namedMaps("services");
        if (named.isEmpty() && !section.has("services")) {
            section.error("services", "missing required key 'services'", "a mapping of service name: settings");
        }
        named.forEach((name, m) -> {
            serviceMaps.put(name, m);
            VirtualService vs = parseService(name, m, problems);
            m.finish();
            if (vs == null) {
                return;
            }
            String clash = keys.putIfAbsent(vs.key(), name);
            if (clash != null) {
                m.error(vs.key().byFwmark() ? "fwmark" : "vip", "service '" + name + "' uses " + vs.key()
                        + " like service '" + clash + "'", "each VIP:port/protocol (or fwmark) in one service only");
                return;
            }
            services.add(vs);
        });
        if (vrrp.isPresent()) {
            // With VRRP the master owns the VIPs: a service VIP it does not carry would be owned by nobody.
            Set<String> carried = new java.util.HashSet<>();
            vrrp.get().virtualAddresses().forEach(v -> carried.add(VrrpConfig.text(v.address())));
            boolean v6 = vrrp.get().ipv6();
            for (VirtualService vs : services) {
                String vip = vs.key().byFwmark() ? "" : io.tiergate.shared.config.HostPort.canonicalIp(vs.key().vip());
                if (!vs.key().byFwmark() && (vip.indexOf(':') >= 0) != v6) {
                    serviceMaps.get(vs.name()).error("vip", "service '" + vs.name() + "' has " + (v6 ? "IPv4" : "IPv6")
                            + " VIP " + vip + ", but director.vrrp carries " + (v6 ? "IPv6" : "IPv4") + " VIPs: one "
                            + "VRRP instance carries one address family (no director would own it)",
                            "services of the vrrp section's family here; run the " + (v6 ? "IPv4" : "IPv6")
                            + " services on another director pair (its own config and vrrp section)");
                } else if (!vs.key().byFwmark() && !carried.contains(vip)) {
                    serviceMaps.get(vs.name()).error("vip", "service '" + vs.name() + "' has VIP " + vip
                            + ", which vrrp.virtual_addresses does not list (no director would own it)",
                            "every service VIP in vrrp.virtual_addresses, e.g. [" + vip + (v6 ? "/128]" : "/32]"));
                }
            }
        }
        if (bgp.isPresent()) {
            checkBgpFamilies(bgp.get(), bm.get(), services);
        }
        AdminAccess adminAccess = AdminAccess.parse(section);
        section.finish();
        DirectorConfig cfg = new DirectorConfig(dataplane, iface, seed, maglev, repair, resolve, connect, udpIdle, admin,
                services, flowTable, sync, vrrp, bgp, adminAccess);
        // Reported with every other problem, each at the key that asks for what the dataplane cannot do (services
        // that failed to parse are not checked: their own errors come first).
        for (Unsupported u : cfg.unsupportedAt(dataplane)) {
            ConfigMap at = u.service() == null ? section : serviceMaps.get(u.service());
            at.error(u.key(), u.message() + " (with dataplane: " + dataplane.configName() + ")",
                    "a setting the " + dataplane.configName() + " dataplane can express, or another dataplane");
        }
        return cfg;
    }

    /** Every neighbor needs a VIP of its own address family to announce (a session carries one family here). */
    private static void checkBgpFamilies(BgpConfig bgp, ConfigMap at, List<VirtualService> services) {
        if (services.isEmpty()) {
            return; // already reported
        }
        if (services.stream().allMatch(vs -> vs.key().byFwmark())) {
            at.error("neighbors", "bgp has nothing to announce: every service is a fwmark service",
                    "at least one service with a vip");
            return;
        }
        for (BgpConfig.Neighbor n : bgp.neighbors()) {
            boolean v6 = n.ipv6();
            if (services.stream().noneMatch(vs -> !vs.key().byFwmark() && (vs.key().vip().indexOf(':') >= 0) == v6)) {
                at.error("neighbors", "neighbor " + n.address() + " is IPv" + (v6 ? "6" : "4") + " but no service has an"
                        + " IPv" + (v6 ? "6" : "4") + " VIP (a session carries its own address family only)",
                        "a neighbor of the VIPs' address family");
            }
        }
    }

    /**
     * What of this config {@code kind} cannot express, one sentence each naming the dataplanes that can. Empty for
     * auto: auto picks a dataplane that can.
     */
    public List<String> unsupportedOn(DataplaneKind kind) {
        return unsupportedAt(kind).stream().map(Unsupported::sentence).toList();
    }

    /**
     * One thing a dataplane cannot express, at the key that asks for it: {@code service} (null for a director-wide
     * key) and {@code key} within it.
     */
    public record Unsupported(String service, String key, String message) {
        public String sentence() {
            return (service == null ? key + ": " : "service '" + service + "': ") + message;
        }
    }

    /** As {@link #unsupportedOn}, each with the key that caused it. */
    public List<Unsupported> unsupportedAt(DataplaneKind kind) {
        List<Unsupported> out = new ArrayList<>();
        if (kind == DataplaneKind.AUTO) {
            return out;
        }
        if (sync.isPresent() && kind != DataplaneKind.IPVS) {
            out.add(new Unsupported(null, "sync", "the connection sync daemon is an IPVS feature ("
                    + kind.configName() + " has none; nft pins flows per director, see docs/director.md)"));
        }
        for (VirtualService s : services) {
            if (!kind.supports(s.scheduler())) {
                out.add(new Unsupported(s.name(), "scheduler", "scheduler '" + s.scheduler().configName() + "' needs the "
                        + String.join(" or ", DataplaneKind.namesSupporting(s.scheduler())) + " dataplane ("
                        + kind.configName() + " can do rr, wrr, sh, mh)"));
            }
            if (!kind.supports(s.method())) {
                out.add(new Unsupported(s.name(), "method", "method '" + s.method().configName() + "' needs the "
                        + String.join(" or ", DataplaneKind.namesSupporting(s.method())) + " dataplane"));
            }
            if (s.persistence().enabled() && s.persistence().prefixLength() != 32 && !kind.supportsPersistenceNetmask()) {
                out.add(new Unsupported(s.name(), "persistence", "persistence netmask /" + s.persistence().prefixLength()
                        + " needs the ipvs or userspace dataplane (" + kind.configName() + " hashes whole addresses)"));
            }
            if (s.proxyProtocol() && !kind.supportsProxyProtocol()) {
                out.add(new Unsupported(s.name(), "proxy_protocol", "proxy_protocol needs the userspace dataplane (" + kind.configName()
                        + " forwards packets and cannot add a header)"));
            }
            if (kind == DataplaneKind.NFT && s.key().byFwmark()) {
                out.add(new Unsupported(s.name(), "fwmark", "fwmark services need the ipvs dataplane (nft matches VIP and port)"));
            }
            if (kind == DataplaneKind.NFT && !s.key().byFwmark()) {
                boolean v6 = s.key().vip().indexOf(':') >= 0;
                for (RealServer r : s.realServers()) {
                    String host = r.address().host();
                    if (isIpLiteral(host) && (host.indexOf(':') >= 0) != v6) {
                        out.add(new Unsupported(s.name(), "real_servers", "real server " + r.id() + " is " + (v6 ? "IPv4" : "IPv6") + " but the VIP "
                                + s.key().vip() + " is " + (v6 ? "IPv6" : "IPv4") + ": nft forwards within one address "
                                + "family; give the real server an " + (v6 ? "IPv6" : "IPv4")
                                + " address (or use the userspace dataplane, which proxies across families)"));
                    }
                }
            }
            if (kind == DataplaneKind.USERSPACE && s.key().byFwmark()) {
                out.add(new Unsupported(s.name(), "fwmark", "fwmark services need the ipvs dataplane (userspace listens on VIP:port)"));
            }
            if (kind == DataplaneKind.NFT && s.method() != ForwardingMethod.NAT && interfaceName.isEmpty()) {
                out.add(new Unsupported(s.name(), "method", "method '" + s.method().configName() + "' on nft needs"
                        + " director.interface (the device whose ingress receives the VIP)"));
            }
            if (kind == DataplaneKind.NFT && s.method() == ForwardingMethod.TUNNEL && !s.key().byFwmark()
                    && s.key().vip().indexOf(':') >= 0) {
                out.add(new Unsupported(s.name(), "method", "method 'tunnel' on nft is IPIP, which carries IPv4 only"
                        + " (the VIP " + s.key().vip() + " is IPv6); use method dr, or the ipvs dataplane"));
            }
            if ((kind == DataplaneKind.NFT || kind == DataplaneKind.IPVS) && s.method() != ForwardingMethod.NAT
                    && !s.key().byFwmark()) {
                for (RealServer r : s.realServers()) {
                    if (r.address().port() != s.key().port()) {
                        out.add(new Unsupported(s.name(), "real_servers", "real server " + r.id() + ": method '" + s.method().configName()
                                + "' cannot change the port (the VIP port is " + s.key().port() + "); use method nat"));
                    }
                }
            }
        }
        return out;
    }

    private static VirtualService parseService(String name, ConfigMap m, Problems problems) {
        int before = problems.size();
        Protocol protocol = m.enumValue("protocol", Protocol.class, Protocol.TCP);
        int fwmark = m.integer("fwmark", 0, 0, Integer.MAX_VALUE);
        ServiceKey key = null;
        if (fwmark > 0) {
            if (m.has("vip")) {
                m.error("vip", "a fwmark service has no vip", "either vip or fwmark, not both");
            }
            key = ServiceKey.fwmark(protocol, fwmark);
        } else {
            HostPort vip = m.hostPort("vip", null, -1);
            if (vip == null && !m.has("vip")) {
                m.error("vip", "missing required key 'vip'", "VIP:port, e.g. 10.0.0.100:80 (or fwmark: N)");
            } else if (vip != null) {
                if (!isIpLiteral(vip.host())) {
                    m.error("vip", "'" + vip.host() + "' is not an IP address", "a literal IPv4 or IPv6 address");
                } else {
                    key = ServiceKey.of(protocol, HostPort.canonicalIp(vip.host()), vip.port());
                }
            }
        }
        Scheduler scheduler = m.enumValue("scheduler", Scheduler.class, Scheduler.WEIGHTED_ROUND_ROBIN);
        ForwardingMethod method = m.enumValue("method", ForwardingMethod.class, ForwardingMethod.DIRECT_ROUTE);
        Persistence persistence = Persistence.NONE;
        Optional<ConfigMap> pm = m.map("persistence");
        if (pm.isPresent()) {
            Duration timeout = pm.get().duration("timeout", Duration.ofSeconds(300), Duration.ofSeconds(1));
            int prefix = netmask(pm.get(), "netmask");
            pm.get().finish();
            persistence = new Persistence(timeout, prefix);
        }
        int quorum = m.integer("quorum", 1, 0, 65535);
        OnFailure onFailure = m.enumValue("on_failure", OnFailure.class, OnFailure.WEIGHT0);
        Optional<HostPort> sorry = Optional.ofNullable(m.hostPort("sorry_server", null,
                key == null ? -1 : key.port()));
        boolean proxyProtocol = m.bool("proxy_protocol", false);
        // Like keepalived's TCP_CHECK default: a real server nobody checks would stay in after it dies.
        Optional<HealthCheck> serviceCheck = m.map("health").map(h -> healthCheck(h, Optional.of(HealthCheck.tcp())))
                .orElse(Optional.of(HealthCheck.tcp()));
        int defaultPort = key == null || key.byFwmark() ? -1 : key.port();
        List<RealServer> servers = new ArrayList<>();
        Set<String> seen = new LinkedHashSet<>();
        List<ConfigNode> items = m.list("real_servers");
        if (items.isEmpty()) {
            m.error("real_servers", "no real servers", "a list of real servers, e.g. - 10.0.0.11:80");
        }
        for (ConfigNode item : items) {
            RealServer rs = realServer(item, defaultPort, serviceCheck, problems);
            if (rs != null && !seen.add(rs.id())) {
                problems.add(item, "real server " + rs.id() + " is listed twice", "each real server once per service");
            } else if (rs != null) {
                servers.add(rs);
            }
        }
        if (problems.size() != before || key == null) {
            return null;
        }
        return new VirtualService(name, key, scheduler, method, persistence, servers, sorry, quorum, onFailure,
                proxyProtocol);
    }

    private static RealServer realServer(ConfigNode item, int defaultPort, Optional<HealthCheck> serviceCheck,
                                         Problems problems) {
        if (item instanceof ConfigNode.Scalar s && !s.isNull()) {
            return ConfigMap.hostPortOf(s, defaultPort, problems)
                    .map(hp -> new RealServer(hp.canonical(), 1, serviceCheck)).orElse(null);
        }
        ConfigMap r = ConfigMap.of(item, problems);
        HostPort address = r.hostPort("address", null, defaultPort);
        if (address == null && !r.has("address")) {
            r.error("address", "missing required key 'address'", HostPort.EXPECTED);
        }
        int weight = r.integer("weight", 1, 0, RealServer.MAX_WEIGHT);
        Optional<HealthCheck> check = r.map("health").map(h -> healthCheck(h, serviceCheck)).orElse(serviceCheck);
        r.finish();
        return address == null ? null : new RealServer(address.canonical(), weight, check);
    }

    /**
     * The shared health-check shape ({@link HealthCheckConfig}, the same the proxy uses) plus {@code type: none},
     * which turns checking off; absent keys inherit from the service's check.
     */
    private static Optional<HealthCheck> healthCheck(ConfigMap h, Optional<HealthCheck> inherited) {
        Optional<ConfigNode> type = h.raw("type");
        if (type.isPresent() && type.get() instanceof ConfigNode.Scalar s && s.text().trim().equalsIgnoreCase("none")) {
            h.known("interval", "timeout", "rise", "fall", "path", "host", "expect_status", "body_contains", "command");
            h.finish();
            return Optional.empty();
        }
        return Optional.of(HealthCheckConfig.parse(h, inherited.orElse(HealthCheck.tcp())));
    }

    /** A netmask as {@code 255.255.255.0}, {@code /24} or {@code 24}; returns the prefix length. */
    private static int netmask(ConfigMap m, String key) {
        String text = m.string(key, "32").trim();
        String expected = "a netmask like 255.255.255.0 or /24";
        try {
            if (text.startsWith("/")) {
                text = text.substring(1);
            }
            if (!text.contains(".")) {
                int p = Integer.parseInt(text);
                if (p < 0 || p > 32) {
                    throw new NumberFormatException();
                }
                return p;
            }
            if (!IPV4.matcher(text).matches()) {
                throw new NumberFormatException();
            }
            long bits = 0;
            for (String part : text.split("\\.")) {
                bits = (bits << 8) | Integer.parseInt(part);
            }
            int prefix = Long.bitCount(bits);
            long expectedBits = prefix == 0 ? 0 : (0xFFFF_FFFFL << (32 - prefix)) & 0xFFFF_FFFFL;
            if (bits != expectedBits) {
                m.error(key, "'" + text + "' is not a contiguous netmask", expected);
                return 32;
            }
            return prefix;
        } catch (NumberFormatException e) {
            m.error(key, "'" + text + "' is not a netmask", expected);
            return 32;
        }
    }

    static boolean isIpLiteral(String host) {
        if (IPV4.matcher(host).matches()) {
            return true;
        }
        return host.indexOf(':') >= 0 && host.matches("[0-9a-fA-F:.]+");
    }
}
