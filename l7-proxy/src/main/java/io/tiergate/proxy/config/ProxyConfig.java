package io.tiergate.proxy.config;

import io.tiergate.proxy.access.RealIp;
import io.tiergate.proxy.cache.CacheConfig;
import io.tiergate.proxy.controls.Controls;
import io.tiergate.proxy.limit.Zones;
import io.tiergate.proxy.features.LocationFeatures;

import io.tiergate.shared.config.ConfigMap;
import io.tiergate.shared.config.ConfigNode;
import io.tiergate.shared.config.HostPort;
import io.tiergate.shared.config.Units;
import io.tiergate.shared.health.HealthCheck;
import io.tiergate.shared.health.HealthCheckConfig;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;

/**
 * The {@code proxy:} section, fully validated. Every key, its default and an example are in docs/config.md
 * ({@code ## Proxy}). Immutable: a reload parses a new one and swaps it in whole.
 *
 * @param adminAccess credentials and TLS of the admin endpoint ({@code admin_auth:}, {@code admin_tls:})
 */
public record ProxyConfig(String nodeName, String nodeHeader, List<ListenerConfig> listeners,
                          Timeouts timeouts, Limits limits, Forwarding forwarding, BodyBuffer bodyBuffer,
                          RetryPolicy retry, AccessLog accessLog, Map<String, UpstreamConfig> upstreams,
                          List<VirtualServerConfig> servers, CacheConfig cache, HostPort admin,
                          List<String> drVips, boolean mergeSlashes, io.tiergate.shared.admin.AdminAccess adminAccess,
                          DrTunnel drTunnel) {

    /**
     * {@code dr.mode: tunnel}: the director reaches this node through an IPIP tunnel (LVS-TUN, or the nft dataplane's
     * method tunnel) instead of on its L2 segment. {@code mtu} is the tunnel's MTU (the path's MTU − 20 bytes of outer
     * header); this node advertises MSS {@code mtu − 40} for the VIPs so clients' segments fit the tunnel.
     */
    public record DrTunnel(boolean enabled, int mtu) {
        public static final DrTunnel OFF = new DrTunnel(false, 1480);

        public int mss() {
            return mtu - 40;
        }
    }

    /** The admin endpoint's default: loopback only, never exposed by accident. */
    public static final HostPort DEFAULT_ADMIN = HostPort.parse("127.0.0.1:9181", -1);

    /** With an open (loopback, no credentials) admin endpoint. */
    public ProxyConfig(String nodeName, String nodeHeader, List<ListenerConfig> listeners, Timeouts timeouts,
                       Limits limits, Forwarding forwarding, BodyBuffer bodyBuffer, RetryPolicy retry,
                       AccessLog accessLog, Map<String, UpstreamConfig> upstreams, List<VirtualServerConfig> servers,
                       CacheConfig cache, HostPort admin, List<String> drVips) {
        this(nodeName, nodeHeader, listeners, timeouts, limits, forwarding, bodyBuffer, retry, accessLog, upstreams,
                servers, cache, admin, drVips, true);
    }

    /** With an open (loopback, no credentials) admin endpoint and the given merge_slashes. */
    public ProxyConfig(String nodeName, String nodeHeader, List<ListenerConfig> listeners, Timeouts timeouts,
                       Limits limits, Forwarding forwarding, BodyBuffer bodyBuffer, RetryPolicy retry,
                       AccessLog accessLog, Map<String, UpstreamConfig> upstreams, List<VirtualServerConfig> servers,
                       CacheConfig cache, HostPort admin, List<String> drVips, boolean mergeSlashes) {
        this(nodeName, nodeHeader, listeners, timeouts, limits, forwarding, bodyBuffer, retry, accessLog, upstreams,
                servers, cache, admin, drVips, mergeSlashes, io.tiergate.shared.admin.AdminAccess.OPEN, DrTunnel.OFF);
    }

    /** Without admin/dr sections: the default admin address, no DR VIPs. */
    public ProxyConfig(String nodeName, String nodeHeader, List<ListenerConfig> listeners, Timeouts timeouts,
                       Limits limits, Forwarding forwarding, BodyBuffer bodyBuffer, RetryPolicy retry,
                       AccessLog accessLog, Map<String, UpstreamConfig> upstreams, List<VirtualServerConfig> servers,
                       CacheConfig cache) {
        this(nodeName, nodeHeader, listeners, timeouts, limits, forwarding, bodyBuffer, retry, accessLog, upstreams,
                servers, cache, DEFAULT_ADMIN, List.of());
    }

    /** Without a cache section (defaults apply when a location turns caching on). */
    public ProxyConfig(String nodeName, String nodeHeader, List<ListenerConfig> listeners, Timeouts timeouts,
                       Limits limits, Forwarding forwarding, BodyBuffer bodyBuffer, RetryPolicy retry,
                       AccessLog accessLog, Map<String, UpstreamConfig> upstreams, List<VirtualServerConfig> servers) {
        this(nodeName, nodeHeader, listeners, timeouts, limits, forwarding, bodyBuffer, retry, accessLog, upstreams,
                servers, CacheConfig.defaults());
    }

    public ProxyConfig {
        java.util.Objects.requireNonNull(adminAccess, "adminAccess");
        java.util.Objects.requireNonNull(drTunnel, "drTunnel");
        drVips = List.copyOf(drVips);
        listeners = List.copyOf(listeners);
        upstreams = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(upstreams));
        servers = List.copyOf(servers);
    }

    /**
     * Client-side timeouts guard against slow or idle clients (slowloris); upstream ones bound each attempt.
     * {@code upstreamRead} is the longest silence between two reads of a response, head and whole body.
     * {@code clientSend} is how long a client may take none of a response that waits for it (nginx send_timeout).
     */
    public record Timeouts(Duration clientHeader, Duration clientBody, Duration keepalive,
                           Duration upstreamConnect, Duration upstreamRead, Duration clientSend) {
        public static final Timeouts DEFAULT = new Timeouts(Duration.ofSeconds(10), Duration.ofSeconds(30),
                Duration.ofSeconds(60), Duration.ofSeconds(5), Duration.ofSeconds(60), Duration.ofSeconds(60));
    }

    /** Request limits: over them a client gets 414, 431 or 413. */
    public record Limits(int maxUriLength, int maxHeaderSize, long maxBodySize) {
        public static final Limits DEFAULT = new Limits(8192, 16384, 10L * 1024 * 1024);
    }

    /**
     * Which forwarding headers are added. Incoming X-Forwarded-* and Forwarded are kept (appended to) only when the
     * peer is in {@code trustedProxies}; from anyone else they are replaced, so clients cannot forge their address.
     */
    public record Forwarding(List<Cidr> trustedProxies, boolean xForwarded, boolean forwarded, boolean via,
                             String requestIdHeader, RealIp realIp) {
        public static final Forwarding DEFAULT = new Forwarding(List.of(), true, true, true, "X-Request-Id");

        public Forwarding {
            trustedProxies = List.copyOf(trustedProxies);
        }

        /** Without real_ip: the peer is the client. */
        public Forwarding(List<Cidr> trustedProxies, boolean xForwarded, boolean forwarded, boolean via,
                          String requestIdHeader) {
            this(trustedProxies, xForwarded, forwarded, via, requestIdHeader, RealIp.OFF);
        }

        public boolean trusts(String ip) {
            for (Cidr c : trustedProxies) {
                if (c.contains(ip)) {
                    return true;
                }
            }
            return false;
        }
    }

    /**
     * Request bodies are buffered so a failed attempt can be re-sent whole: in memory up to {@code memory}, then in
     * a temp file up to {@code max}. A larger body is streamed to the first upstream and cannot be retried.
     */
    public record BodyBuffer(long memory, long max, Path tempDir) {
        public static final BodyBuffer DEFAULT = new BodyBuffer(64 * 1024, 8L * 1024 * 1024,
                Path.of(System.getProperty("java.io.tmpdir")));
    }

    /** {@code path} "stdout" or a file; format combined (nginx) or json; "off" disables it. */
    public record AccessLog(Format format, String path) {
        public enum Format { COMBINED, JSON, OFF }

        public static final AccessLog DEFAULT = new AccessLog(Format.COMBINED, "stdout");
    }

    private static final Pattern HEADER_NAME = Pattern.compile("[!#$%&'*+.^_`|~0-9A-Za-z-]+");

    /** Reads the section, recording every problem in {@code section.problems()}. */
    public static ProxyConfig parse(ConfigMap section) {
        String nodeName = section.string("node_name", defaultNodeName());
        String nodeHeader = section.string("add_node_header", "");
        if (!nodeHeader.isEmpty() && !HEADER_NAME.matcher(nodeHeader).matches()) {
            section.error("add_node_header", "'" + nodeHeader + "' is not a valid header name",
                    "a header name such as X-Tiergate-Node");
        }

        List<ListenerConfig> listeners = parseListeners(section);
        Timeouts timeouts = parseTimeouts(section.mapOrEmpty("timeouts"));
        Limits limits = parseLimits(section.mapOrEmpty("limits"));
        Forwarding forwarding = parseForwarding(section.mapOrEmpty("forwarding"));
        BodyBuffer bodyBuffer = parseBodyBuffer(section.mapOrEmpty("body_buffer"));
        RetryPolicy retry = RetryPolicy.parse(section.mapOrEmpty("retry"), RetryPolicy.DEFAULT);
        AccessLog accessLog = parseAccessLog(section.mapOrEmpty("access_log"));

        Map<String, UpstreamConfig> upstreams = new LinkedHashMap<>();
        Map<String, ConfigMap> ups = section.namedMaps("upstreams");
        // No upstreams at all is fine for a proxy that only redirects (return:) or serves files; a location naming a
        // group that is not there says so itself.
        ups.forEach((name, m) -> {
            UpstreamConfig u = parseUpstream(name, m);
            m.finish();
            if (u != null) {
                upstreams.put(name, u);
            }
        });

        List<VirtualServerConfig> servers = new ArrayList<>();
        List<ConfigMap> serverMaps = section.mapList("servers");
        if (serverMaps.isEmpty()) {
            section.error("servers", "no virtual servers", "at least one item under servers: with locations:");
        }
        Zones zones = Zones.parse(section);
        Set<String> listenerNames = new HashSet<>();
        listeners.forEach(l -> listenerNames.add(l.name()));
        Map<String, Integer> defaultsPerListener = new HashMap<>();
        for (ConfigMap m : serverMaps) {
            VirtualServerConfig vs = parseServer(m, retry, ups.keySet(), listenerNames, zones);
            m.finish();
            if (vs == null) {
                continue;
            }
            if (vs.isDefault()) {
                for (String l : vs.listeners().isEmpty() ? listenerNames : Set.copyOf(vs.listeners())) {
                    if (defaultsPerListener.merge(l, 1, Integer::sum) > 1) {
                        m.error("default", "a second default server for listener '" + l + "'",
                                "at most one server with default: true per listener");
                    }
                }
            }
            servers.add(vs);
        }
        CacheConfig cache = section.map("cache").map(CacheConfig::parse).orElse(CacheConfig.defaults());
        HostPort admin = parseAdmin(section);
        if (admin != null) {
            // The admin endpoint is a socket too: on a listener's address it would take that listener's traffic.
            List<Bound> bound = new ArrayList<>();
            for (ListenerConfig l : listeners) {
                listenerNode(section, l).ifPresent(at -> bound.add(new Bound("listener '" + l.name() + "'",
                        l.address(), at)));
            }
            section.raw("admin").ifPresent(at -> clash(section, "admin", new Bound("admin", admin, at), bound));
        }
        ConfigMap dr = section.mapOrEmpty("dr");
        DrTunnel drTunnel = parseDrTunnel(dr);
        List<String> drVips = parseDr(dr);
        // nginx's merge_slashes: on by default, so "//internal" is routed (and forwarded) as "/internal".
        boolean mergeSlashes = section.bool("merge_slashes", true);
        io.tiergate.shared.admin.AdminAccess adminAccess = io.tiergate.shared.admin.AdminAccess.parse(section);
        section.finish();
        return new ProxyConfig(nodeName, nodeHeader, listeners, timeouts, limits, forwarding, bodyBuffer, retry,
                accessLog, upstreams, servers, cache, admin, drVips, mergeSlashes, adminAccess, drTunnel);
    }

    /** Where a listener's {@code address:} is in the file. */
    private static java.util.Optional<ConfigNode> listenerNode(ConfigMap section, ListenerConfig l) {
        for (ConfigNode item : section.list("listeners")) {
            if (item instanceof ConfigNode.Mapping mm && mm.entries().get("address") instanceof ConfigNode.Scalar a
                    && HostPort.parse(a.text().trim(), -1).equals(l.address())) {
                return java.util.Optional.of(a);
            }
        }
        return java.util.Optional.empty();
    }

    /** {@code admin: host:port} for /metrics, /healthz, /readyz; {@code admin: off} disables it (null). */
    private static HostPort parseAdmin(ConfigMap section) {
        if (section.has("admin") && "off".equals(section.string("admin", ""))) {
            return null;
        }
        return section.hostPort("admin", DEFAULT_ADMIN, -1);
    }

    /** {@code dr.mode} ({@code dr}, the default, or {@code tunnel}) and {@code dr.tunnel_mtu}. */
    private static DrTunnel parseDrTunnel(ConfigMap m) {
        String mode = m.string("mode", "dr").trim().toLowerCase(java.util.Locale.ROOT);
        int mtu = m.integer("tunnel_mtu", DrTunnel.OFF.mtu(), 576, 65515);
        switch (mode) {
            case "dr":
                if (m.has("tunnel_mtu")) {
                    m.error("tunnel_mtu", "tunnel_mtu applies to mode tunnel only", "mode: tunnel, or drop tunnel_mtu");
                }
                return DrTunnel.OFF;
            case "tunnel":
                return new DrTunnel(true, mtu);
            default:
                m.error("mode", "unknown mode '" + mode + "'", "dr (the director shares this node's L2 segment) or tunnel"
                        + " (the director reaches it through IPIP)");
                return DrTunnel.OFF;
        }
    }

    /** {@code dr: {vips: [...]}}: this node is a direct-routing real server for these VIPs (IP literals). */
    private static List<String> parseDr(ConfigMap m) {
        List<String> vips = new ArrayList<>();
        for (ConfigNode n : m.list("vips")) {
            String text = n instanceof ConfigNode.Scalar s && !s.isNull() ? s.text().trim() : "";
            if (io.netty.util.NetUtil.isValidIpV4Address(text) || io.netty.util.NetUtil.isValidIpV6Address(text)) {
                vips.add(text);
            } else {
                m.problems().add(n, "'" + text + "' is not an IP address", "an IPv4 or IPv6 literal like 10.0.0.100");
            }
        }
        m.finish();
        return vips;
    }

    private static String defaultNodeName() {
        String h = System.getenv("HOSTNAME");
        return h == null || h.isBlank() ? "tiergate" : h;
    }

    private static List<ListenerConfig> parseListeners(ConfigMap section) {
        List<ListenerConfig> out = new ArrayList<>();
        Set<String> names = new HashSet<>();
        List<Bound> bound = new ArrayList<>();
        List<ConfigMap> items = section.mapList("listeners");
        if (items.isEmpty()) {
            section.error("listeners", "no listeners", "at least one item like {address: 0.0.0.0:8080}");
        }
        for (ConfigMap m : items) {
            HostPort address = m.hostPort("address", null, -1);
            if (address == null && !m.has("address")) {
                m.error("address", "missing required key 'address'", HostPort.EXPECTED);
            }
            String name = m.string("name", address == null ? "" : address.toString());
            ListenerConfig.Tls tls = m.map("tls").map(ProxyConfig::parseTls).orElse(null);
            ListenerConfig.ProxyProtocol pp = m.map("proxy_protocol").map(ProxyConfig::parseProxyProtocol).orElse(null);
            boolean h2c = m.bool("h2c", tls == null);
            if (h2c && tls != null) {
                m.error("h2c", "h2c is HTTP/2 over cleartext, not possible on a TLS listener",
                        "tls.http2 to offer HTTP/2 by ALPN on this listener, or no 'h2c' key");
                h2c = false;
            }
            int maxConnections = m.integer("max_connections", 0, 0, 10_000_000);
            m.finish();
            if (address == null) {
                continue;
            }
            if (!names.add(name)) {
                m.error("name", "duplicate listener name '" + name + "'", "a unique name per listener");
                continue;
            }
            Bound here = new Bound("listener '" + name + "'", address, m.raw("address").orElseThrow());
            if (clash(m, "address", here, bound)) {
                continue;
            }
            bound.add(here);
            out.add(new ListenerConfig(name, address, tls, pp, h2c, maxConnections));
        }
        return out;
    }

    /** A socket address some key binds, where the key is (for naming both places of a clash). */
    private record Bound(String what, HostPort address, ConfigNode at) {
        String where() {
            return at.file() + ":" + at.line() + ":" + at.column();
        }
    }

    /**
     * Two sockets on one address would either fail at start or (with SO_REUSEPORT) split connections between them.
     * A wildcard address clashes with every address of its family on the same port ({@code [::]} with both
     * families: Linux binds it dual-stack). Port 0 never clashes: each gets its own ephemeral port.
     */
    private static boolean clash(ConfigMap m, String key, Bound here, List<Bound> bound) {
        for (Bound b : bound) {
            if (overlaps(here.address(), b.address())) {
                m.error(key, here.what() + " binds " + here.address() + ", which " + b.what() + " at " + b.where()
                        + " already binds (" + b.address() + ")", "a different address or port for each socket");
                return true;
            }
        }
        return false;
    }

    static boolean overlaps(HostPort a, HostPort b) {
        if (a.port() == 0 || a.port() != b.port()) {
            return false;
        }
        String x = HostPort.canonicalIp(a.host());
        String y = HostPort.canonicalIp(b.host());
        if (x.equals(y) || x.equals("::") || y.equals("::")) {
            return true;
        }
        boolean xv6 = x.indexOf(':') >= 0;
        boolean yv6 = y.indexOf(':') >= 0;
        return (x.equals("0.0.0.0") && !yv6) || (y.equals("0.0.0.0") && !xv6);
    }

    /** {@code tls: {certificates: [{cert: a.pem, key: a.key}, ...], http2: true}}; files must be readable now. */
    private static ListenerConfig.Tls parseTls(ConfigMap m) {
        List<ListenerConfig.KeyPair> pairs = new ArrayList<>();
        List<ConfigMap> items = m.mapList("certificates");
        if (items.isEmpty()) {
            m.error("certificates", "TLS needs at least one certificate", "a list like [{cert: /etc/tiergate/a.pem, key: /etc/tiergate/a.key}]");
        }
        for (ConfigMap c : items) {
            String cert = c.requireString("cert", "a PEM certificate (chain) file");
            String key = c.requireString("key", "a PEM private key file (PKCS#8 or PKCS#1)");
            boolean readable = true;
            for (String[] f : new String[][] {{"cert", cert}, {"key", key}}) {
                if (f[1] != null) {
                    try {
                        io.tiergate.shared.config.FileErrors.read(Path.of(f[1]));
                    } catch (java.io.IOException e) {
                        c.error(f[0], "cannot read " + f[1] + ": " + io.tiergate.shared.config.FileErrors.reason(e),
                                "a readable PEM file");
                        readable = false;
                    }
                }
            }
            if (readable && cert != null && key != null) {
                io.tiergate.proxy.tls.Certificates.problem(Path.of(cert), Path.of(key)).ifPresent(why ->
                        c.error("key", why, "the private key of the certificate in 'cert' (PEM)"));
            }
            c.finish();
            if (cert != null && key != null) {
                pairs.add(new ListenerConfig.KeyPair(Path.of(cert), Path.of(key)));
            }
        }
        boolean http2 = m.bool("http2", true);
        ListenerConfig.ClientAuth auth = m.enumValue("client_auth", ListenerConfig.ClientAuth.class,
                ListenerConfig.ClientAuth.NONE);
        String ca = m.string("client_ca", null);
        if (ca != null) {
            io.tiergate.proxy.tls.Certificates.caProblem(Path.of(ca)).ifPresent(why ->
                    m.error("client_ca", why, "a readable PEM file of the CA(s) client certificates chain to"));
        }
        if (auth != ListenerConfig.ClientAuth.NONE && ca == null) {
            m.error("client_ca", "client_auth: " + ConfigMap.enumName(auth) + " needs the CA bundle to verify"
                    + " client certificates against", "client_ca: /etc/tiergate/clients-ca.pem");
            auth = ListenerConfig.ClientAuth.NONE;
        }
        String subject = headerName(m, "client_cert_header");
        String pem = headerName(m, "client_cert_pem_header");
        if (auth == ListenerConfig.ClientAuth.NONE && (subject != null || pem != null)) {
            m.error(subject != null ? "client_cert_header" : "client_cert_pem_header",
                    "no client certificate is asked for, so there is none to pass on",
                    "client_auth: optional or required");
        }
        List<Path> ticketKeys = new ArrayList<>();
        for (String f : m.stringList("session_ticket_keys", List.of())) {
            io.tiergate.proxy.tls.TlsEngine.ticketKeyProblem(Path.of(f)).ifPresentOrElse(why ->
                    m.error("session_ticket_keys", why, "a file of 48 random bytes: openssl rand 48 > " + f),
                    () -> ticketKeys.add(Path.of(f)));
        }
        m.finish();
        return new ListenerConfig.Tls(pairs, http2, auth, ca == null ? null : Path.of(ca), subject, pem, ticketKeys);
    }

    /** An HTTP field name under {@code key}, or null when absent or invalid (reported). */
    private static String headerName(ConfigMap m, String key) {
        String v = m.string(key, null);
        if (v != null && !v.matches("[A-Za-z0-9!#$%&'*+.^_`|~-]+")) {
            m.error(key, "'" + v + "' is not an HTTP header name", "a name like X-Client-Subject");
            return null;
        }
        return v;
    }

    private static Timeouts parseTimeouts(ConfigMap m) {
        Timeouts d = Timeouts.DEFAULT;
        Duration ms = Duration.ofMillis(1);
        Timeouts t = new Timeouts(m.duration("client_header", d.clientHeader(), ms),
                m.duration("client_body", d.clientBody(), ms),
                m.duration("keepalive", d.keepalive(), ms),
                m.duration("upstream_connect", d.upstreamConnect(), ms),
                m.duration("upstream_read", d.upstreamRead(), ms),
                m.duration("client_send", d.clientSend(), ms));
        m.finish();
        return t;
    }

    private static Limits parseLimits(ConfigMap m) {
        Limits d = Limits.DEFAULT;
        long uri = m.size("max_uri_length", d.maxUriLength());
        long header = m.size("max_header_size", d.maxHeaderSize());
        long body = m.size("max_body_size", d.maxBodySize());
        if (uri < 256 || uri > 1024 * 1024) {
            m.error("max_uri_length", Units.formatSize(uri) + " is out of range", "from 256 to 1m");
            uri = d.maxUriLength();
        }
        if (header < 1024 || header > 1024 * 1024) {
            m.error("max_header_size", Units.formatSize(header) + " is out of range", "from 1k to 1m");
            header = d.maxHeaderSize();
        }
        m.finish();
        return new Limits((int) uri, (int) header, body);
    }

    /** {@code proxy_protocol: {trusted: [10.0.0.0/8, ...]}}: at least one CIDR. */
    private static ListenerConfig.ProxyProtocol parseProxyProtocol(ConfigMap m) {
        List<Cidr> trusted = cidrs(m, "trusted");
        if (trusted.isEmpty()) {
            m.error("trusted", "no trusted sources",
                    "the CIDRs of the load balancers that send PROXY headers, e.g. [10.0.0.0/8]");
        }
        m.finish();
        return new ListenerConfig.ProxyProtocol(trusted);
    }

    private static Forwarding parseForwarding(ConfigMap m) {
        Forwarding d = Forwarding.DEFAULT;
        List<Cidr> trusted = cidrs(m, "trusted_proxies");
        boolean xf = m.bool("x_forwarded", d.xForwarded());
        boolean fw = m.bool("forwarded", d.forwarded());
        boolean via = m.bool("via", d.via());
        String rid = m.string("request_id_header", d.requestIdHeader());
        if (!rid.isEmpty() && !HEADER_NAME.matcher(rid).matches()) {
            m.error("request_id_header", "'" + rid + "' is not a valid header name", "a header name, or \"\" to disable");
        }
        // nginx's real_ip_header / real_ip_recursive, with set_real_ip_from = trusted_proxies.
        String realHeader = m.string("real_ip_header", "off");
        if (!realHeader.equals("off") && !HEADER_NAME.matcher(realHeader).matches()) {
            m.error("real_ip_header", "'" + realHeader + "' is not a valid header name",
                    "X-Forwarded-For, X-Real-IP or another header name, or off");
        }
        boolean recursive = m.bool("real_ip_recursive", true);
        if (!realHeader.equals("off") && trusted.isEmpty()) {
            m.error("real_ip_header", "real_ip_header without trusted_proxies would never be used",
                    "the CIDRs of the proxies/load balancers in front of this one under trusted_proxies:");
        }
        m.finish();
        return new Forwarding(trusted, xf, fw, via, rid, realHeader.equals("off") || !HEADER_NAME.matcher(realHeader)
                .matches() ? RealIp.OFF : new RealIp(realHeader, recursive));
    }

    private static List<Cidr> cidrs(ConfigMap m, String key) {
        List<Cidr> trusted = new ArrayList<>();
        for (ConfigNode n : m.list(key)) {
            if (n instanceof ConfigNode.Scalar s && !s.isNull()) {
                try {
                    trusted.add(Cidr.parse(s.text()));
                } catch (IllegalArgumentException e) {
                    m.problems().add(s, e.getMessage(), "an address or CIDR block like 10.0.0.0/8 or ::1");
                }
            } else {
                m.problems().add(n, "is " + n.kind(), "an address or CIDR block");
            }
        }
        return trusted;
    }

    private static BodyBuffer parseBodyBuffer(ConfigMap m) {
        BodyBuffer d = BodyBuffer.DEFAULT;
        long memory = m.size("memory", d.memory());
        long max = m.size("max", d.max());
        if (memory > Integer.MAX_VALUE - 8) {
            m.error("memory", Units.formatSize(memory) + " is too large", "at most 1g (larger bodies go to a temp file)");
            memory = d.memory();
        }
        if (max < memory) {
            m.error("max", Units.formatSize(max) + " is smaller than memory (" + Units.formatSize(memory) + ")",
                    "max >= memory");
        }
        Path dir = Path.of(m.string("temp_dir", d.tempDir().toString()));
        m.finish();
        return new BodyBuffer(memory, max, dir);
    }

    private static AccessLog parseAccessLog(ConfigMap m) {
        AccessLog.Format f = m.enumValue("format", AccessLog.Format.class, AccessLog.DEFAULT.format());
        String path = m.string("path", AccessLog.DEFAULT.path());
        m.finish();
        return new AccessLog(f, path);
    }

    private static UpstreamConfig parseUpstream(String name, ConfigMap m) {
        Balance balance = m.enumValue("balance", Balance.class, Balance.ROUND_ROBIN);
        UpstreamConfig.HashKey hashKey = UpstreamConfig.HashKey.URI;
        if (m.has("hash_key")) {
            String text = m.string("hash_key", "uri");
            hashKey = UpstreamConfig.HashKey.parse(text);
            if (hashKey == null) {
                m.error("hash_key", "unknown hash key '" + text + "'", "uri, client_ip, header:NAME or cookie:NAME");
                hashKey = UpstreamConfig.HashKey.URI;
            } else if (balance != Balance.HASH) {
                m.error("hash_key", "hash_key is only used with balance: hash", "balance: hash, or remove hash_key");
            }
        }
        Duration keepalive = m.duration("keepalive_timeout", Duration.ofSeconds(4), Duration.ofSeconds(1));
        Duration resolve = m.duration("resolve", UpstreamConfig.DEFAULT_RESOLVE, Duration.ofMillis(100));
        int maxConns = m.integer("max_connections_per_server", 128, 1, 100_000);
        List<UpstreamConfig.Server> servers = new ArrayList<>();
        Set<HostPort> seen = new HashSet<>();
        if (m.list("servers").isEmpty()) {
            m.error("servers", "upstream '" + name + "' has no servers", "at least one item like {address: 10.0.0.5:8080}");
        }
        HealthCheck health = m.map("health").map(h -> HealthCheckConfig.parse(h, null)).orElse(null);
        for (ConfigNode item : m.list("servers")) {
            // "- 10.0.0.5:8080" is shorthand for "- {address: 10.0.0.5:8080}" (as in the director).
            if (item instanceof ConfigNode.Scalar scalar) {
                HostPort address = scalar.isNull() ? null
                        : ConfigMap.hostPortOf(scalar, 80, m.problems()).orElse(null);
                if (scalar.isNull()) {
                    m.problems().add(scalar, "is empty", "host:port, or {address: host:port, weight: N, ...}");
                }
                if (address == null) {
                    continue;
                }
                if (!seen.add(address)) {
                    m.problems().add(scalar, "server " + address + " is listed twice in upstream '" + name + "'",
                            "each server once (use weight: to give it more traffic)");
                    continue;
                }
                servers.add(new UpstreamConfig.Server(address, 1, 1, Duration.ofSeconds(10), false));
                continue;
            }
            ConfigMap s = ConfigMap.of(item, m.problems());
            HostPort address = s.hostPort("address", null, 80);
            if (address == null && !s.has("address")) {
                s.error("address", "missing required key 'address'", HostPort.EXPECTED);
            }
            int weight = s.integer("weight", 1, 1, 1000);
            int maxFails = s.integer("max_fails", 1, 0, 1000);
            Duration failTimeout = s.duration("fail_timeout", Duration.ofSeconds(10), Duration.ofMillis(1));
            boolean backup = s.bool("backup", false);
            s.finish();
            if (address == null) {
                continue;
            }
            if (!seen.add(address)) {
                s.error("address", "server " + address + " is listed twice in upstream '" + name + "'",
                        "each server once (use weight: to give it more traffic)");
                continue;
            }
            if (backup && balance == Balance.HASH) {
                s.error("backup", "backup servers cannot be used with balance: hash",
                        "backup: false, or another balance");
            }
            servers.add(new UpstreamConfig.Server(address, weight, maxFails, failTimeout, backup));
        }
        if (!servers.isEmpty() && servers.stream().allMatch(UpstreamConfig.Server::backup)) {
            m.error("servers", "upstream '" + name + "' has only backup servers", "at least one server without backup: true");
        }
        UpstreamConfig.Tls tls = m.map("tls").map(ProxyConfig::parseUpstreamTls).orElse(null);
        UpstreamConfig.Protocol protocol = m.enumValue("protocol", UpstreamConfig.Protocol.class,
                UpstreamConfig.Protocol.HTTP1);
        if (protocol == UpstreamConfig.Protocol.H2 && tls == null) {
            m.error("protocol", "h2 is HTTP/2 over TLS, but upstream '" + name + "' has no tls",
                    "protocol: h2c for HTTP/2 in cleartext (prior knowledge), or a tls: block");
            protocol = UpstreamConfig.Protocol.H2C;
        } else if (protocol == UpstreamConfig.Protocol.H2C && tls != null) {
            m.error("protocol", "h2c is HTTP/2 in cleartext, but upstream '" + name + "' has tls",
                    "protocol: h2 for HTTP/2 over TLS (ALPN)");
            protocol = UpstreamConfig.Protocol.H2;
        }
        if (servers.isEmpty()) {
            return null;
        }
        return new UpstreamConfig(name, balance, hashKey, keepalive, maxConns, servers, health, resolve, tls,
                protocol);
    }

    /**
     * {@code tls: {ca: FILE, verify: true, server_name: NAME, cert: FILE, key: FILE, protocols: [TLSv1.3]}} of an
     * upstream group; every file must be readable and parse now, a key must belong to its certificate.
     */
    private static UpstreamConfig.Tls parseUpstreamTls(ConfigMap m) {
        boolean verify = m.bool("verify", true);
        String ca = m.string("ca", null);
        if (ca != null) {
            io.tiergate.proxy.tls.Certificates.caProblem(Path.of(ca)).ifPresent(why ->
                    m.error("ca", why, "a readable PEM file of CA certificates (a bundle)"));
        }
        if (!verify && ca != null) {
            m.error("verify", "verify: false ignores the ca: bundle (any certificate is accepted)",
                    "verify: true to check the servers against ca:, or no ca:");
        }
        String serverName = m.string("server_name", null);
        if (serverName != null && (serverName.isBlank() || UpstreamConfig.isIpLiteral(serverName)
                || !serverName.matches("[A-Za-z0-9._-]+"))) {
            m.error("server_name", "'" + serverName + "' is not a DNS host name (SNI carries names, not addresses)",
                    "a host name like api.internal.example");
            serverName = null;
        }
        String cert = m.string("cert", null);
        String key = m.string("key", null);
        if ((cert == null) != (key == null)) {
            m.error(cert == null ? "key" : "cert", "a client certificate needs both cert: and key:",
                    "cert: FILE and key: FILE (PEM), or neither");
        } else if (cert != null) {
            io.tiergate.proxy.tls.Certificates.problem(Path.of(cert), Path.of(key)).ifPresent(why ->
                    m.error("key", why, "the private key of the certificate in 'cert' (PEM)"));
        }
        List<String> protocols = m.stringList("protocols", List.of());
        for (String p : protocols) {
            if (!List.of("TLSv1.2", "TLSv1.3").contains(p)) {
                m.error("protocols", "unsupported TLS protocol '" + p + "'", "TLSv1.2 and/or TLSv1.3");
            }
        }
        m.finish();
        return new UpstreamConfig.Tls(ca == null ? null : Path.of(ca), verify, serverName,
                cert == null || key == null ? null : Path.of(cert), cert == null || key == null ? null : Path.of(key),
                protocols.stream().filter(p -> List.of("TLSv1.2", "TLSv1.3").contains(p)).toList());
    }

    private static VirtualServerConfig parseServer(ConfigMap m, RetryPolicy retry, Set<String> upstreamNames,
                                                   Set<String> listenerNames, Zones zones) {
        Controls serverControls = Controls.parse(m, Controls.NONE, zones, upstreamNames);
        List<String> names = m.stringList("server_names", List.of());
        for (String n : names) {
            String problem = serverNameProblem(n);
            if (problem != null) {
                m.error("server_names", problem, "example.com, *.example.com, www.example.*, or ~REGEX");
            }
        }
        boolean isDefault = m.bool("default", false);
        if (names.isEmpty() && !isDefault) {
            m.error("server_names", "a server needs server_names or default: true",
                    "a list of host names, or default: true for the catch-all server");
        }
        List<String> listeners = m.stringList("listeners", List.of());
        for (String l : listeners) {
            if (!listenerNames.contains(l)) {
                String hint = ConfigMap.suggest(l, listenerNames).map(s -> "; did you mean '" + s + "'?").orElse("");
                m.error("listeners", "unknown listener '" + l + "'" + hint, "one of " + String.join(", ", listenerNames));
            }
        }
        List<LocationConfig> locations = new ArrayList<>();
        Set<String> seen = new HashSet<>();
        List<ConfigMap> items = m.mapList("locations");
        if (items.isEmpty()) {
            m.error("locations", "a server needs at least one location", "a list like [{prefix: /, upstream: app}]");
        }
        for (ConfigMap l : items) {
            LocationConfig loc = parseLocation(l, retry, upstreamNames, Controls.parse(l, serverControls, zones,
                    upstreamNames));
            l.finish();
            if (loc == null) {
                continue;
            }
            String key = loc.kind() == LocationConfig.Kind.REGEX ? loc.label() : loc.kind() + " " + loc.path();
            if (!seen.add(key)) {
                l.error(loc.kind().name().toLowerCase(java.util.Locale.ROOT), "duplicate location '" + loc.label() + "'",
                        "each location once per server");
                continue;
            }
            locations.add(loc);
        }
        return new VirtualServerConfig(names, isDefault, listeners, locations);
    }

    /** Why a server name is invalid, or null. */
    static String serverNameProblem(String n) {
        if (n.startsWith("~")) {
            try {
                Pattern.compile(n.substring(1));
                return null;
            } catch (PatternSyntaxException e) {
                return "bad regex '" + n + "': " + e.getDescription();
            }
        }
        if (n.isBlank()) {
            return "empty server name";
        }
        int stars = n.length() - n.replace("*", "").length();
        if (stars > 1 || (stars == 1 && !n.startsWith("*.") && !n.endsWith(".*"))) {
            return "'" + n + "': a wildcard may only be a whole first or last label";
        }
        return null;
    }

    private static LocationConfig parseLocation(ConfigMap l, RetryPolicy retry, Set<String> upstreamNames,
                                                Controls controls) {
        LocationFeatures features = LocationFeatures.parse(l);
        int kinds = (l.has("exact") ? 1 : 0) + (l.has("prefix") ? 1 : 0) + (l.has("regex") ? 1 : 0);
        // A static location (root:/alias:) answers from disk and needs no upstream.
        boolean fromDisk = features != null && features.staticFiles() != null;
        // A location whose return: answers every request needs no upstream either (nginx: location / { return 301 ...; }).
        boolean answers = features != null && features.rewrite().alwaysAnswers();
        if (fromDisk && l.has("upstream")) {
            l.error("upstream", "a location answers from disk (root:/alias:) or forwards (upstream:), not both",
                    "either root:/alias: or upstream:");
        }
        String upstream = fromDisk ? null : answers ? l.string("upstream", null)
                : l.requireString("upstream", "the name of an upstream group");
        if (upstream != null && !upstreamNames.contains(upstream)) {
            String hint = ConfigMap.suggest(upstream, upstreamNames).map(s -> "; did you mean '" + s + "'?").orElse("");
            l.error("upstream", "unknown upstream '" + upstream + "'" + hint,
                    upstreamNames.isEmpty() ? "a group defined under upstreams:" : "one of " + String.join(", ", upstreamNames));
            upstream = null;
        }
        boolean caseInsensitive = l.bool("case_insensitive", false);
        boolean stopRegex = l.bool("stop_regex", false);
        RetryPolicy policy = l.map("retry").map(r -> RetryPolicy.parse(r, retry)).orElse(retry);
        if (kinds != 1) {
            l.error("prefix", kinds == 0 ? "a location needs one of exact:, prefix:, regex:"
                    : "a location may have only one of exact:, prefix:, regex:", "exactly one of exact, prefix, regex");
            return null;
        }
        LocationConfig.Kind kind;
        String path = null;
        Pattern regex = null;
        if (l.has("regex")) {
            kind = LocationConfig.Kind.REGEX;
            String r = l.string("regex", "");
            try {
                regex = Pattern.compile(r, caseInsensitive ? Pattern.CASE_INSENSITIVE : 0);
            } catch (PatternSyntaxException e) {
                l.error("regex", "bad regex: " + e.getDescription() + " near index " + e.getIndex(),
                        "a Java regular expression");
                return null;
            }
        } else {
            kind = l.has("exact") ? LocationConfig.Kind.EXACT : LocationConfig.Kind.PREFIX;
            String key = kind == LocationConfig.Kind.EXACT ? "exact" : "prefix";
            path = l.string(key, "");
            if (!path.startsWith("/")) {
                l.error(key, "'" + path + "' does not start with /", "a path like /api/");
                return null;
            }
        }
        if (caseInsensitive && kind != LocationConfig.Kind.REGEX) {
            l.error("case_insensitive", "case_insensitive only applies to regex locations", "regex: with case_insensitive");
        }
        if (stopRegex && kind != LocationConfig.Kind.PREFIX) {
            l.error("stop_regex", "stop_regex only applies to prefix locations", "prefix: with stop_regex");
        }
        if (upstream == null && !fromDisk && !answers) {
            return null;
        }
        return new LocationConfig(kind, path, regex, stopRegex, upstream, policy, features, controls);
    }
}
