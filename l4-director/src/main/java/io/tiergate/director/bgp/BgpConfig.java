package io.tiergate.director.bgp;

import io.tiergate.shared.config.ConfigMap;
import io.tiergate.shared.config.ConfigNode;
import io.tiergate.shared.config.HostPort;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * The {@code director.bgp:} section: this director announces the service VIPs (/32, /128) to upstream routers over
 * BGP, spoken by BIRD 2. Keys, defaults and an example are in docs/config.md ({@code ### bgp}); the design in
 * docs/scale-out.md.
 *
 * @param localAs          our AS number (1..4294967295)
 * @param routerId         BGP router id, an IPv4 address (usually the director's own)
 * @param neighbors        the routers we peer with
 * @param holdTime         BGP hold time (0 or 3..65535 s)
 * @param keepaliveTime    BGP keepalive interval (below the hold time)
 * @param bfd              BFD on every session (empty: off)
 * @param communities      standard communities added to every announced VIP, as (asn, value)
 * @param med              MULTI_EXIT_DISC on every announced VIP (empty: none)
 * @param convergenceDelay on shutdown: time between the withdrawal and the end of forwarding, so the routers move the
 *                         flows first
 * @param bird             how we reach BIRD: a daemon we run ourselves, or one the operator runs
 */
public record BgpConfig(long localAs, String routerId, List<Neighbor> neighbors, Duration holdTime,
                        Duration keepaliveTime, Optional<Bfd> bfd, List<Community> communities, Optional<Long> med,
                        Duration convergenceDelay, Bird bird) {

    public static final Duration DEFAULT_HOLD = Duration.ofSeconds(9);
    public static final Duration DEFAULT_KEEPALIVE = Duration.ofSeconds(3);
    public static final Duration DEFAULT_CONVERGENCE = Duration.ofSeconds(2);
    public static final Path DEFAULT_RUNTIME_DIR = Path.of("/run/tiergate/bgp");
    public static final Path DEFAULT_BIRD = Path.of("/usr/sbin/bird");

    private static final Pattern IPV4 = Pattern.compile(
            "((25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)\\.){3}(25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)");
    /** BIRD reads the password between double quotes; anything that could end or escape the string is refused. */
    private static final Pattern SAFE_PASSWORD = Pattern.compile("[\\x21\\x23-\\x5b\\x5d-\\x7e]{1,80}");

    public BgpConfig {
        neighbors = List.copyOf(neighbors);
        communities = List.copyOf(communities);
    }

    /** One BGP session. {@code address} is an IP literal in canonical form; {@code port} 179 unless changed. */
    public record Neighbor(String address, long remoteAs, int port, Optional<String> password) {
        public boolean ipv6() {
            return address.indexOf(':') >= 0;
        }

        @Override
        public String toString() {
            return address + " AS" + remoteAs; // never the password
        }
    }

    /** BFD timers: a session is declared down after {@code multiplier} missed packets at {@code interval}. */
    public record Bfd(Duration interval, int multiplier) {
        public Duration detectionTime() {
            return interval.multipliedBy(multiplier);
        }
    }

    /** A standard community, {@code asn:value} with both halves 0..65535. */
    public record Community(int asn, int value) {
        @Override
        public String toString() {
            return asn + ":" + value;
        }
    }

    /**
     * Run our own BIRD ({@code socket} empty: its config, control socket and pid live in {@code runtimeDir}), or attach
     * to the operator's ({@code socket} set: we only write {@code routesFile}, which their bird.conf includes, and ask
     * for a reconfigure).
     */
    public record Bird(Path binary, Path runtimeDir, Optional<Path> socket, Optional<Path> routesFile, boolean realtime) {
        public boolean attached() {
            return socket.isPresent();
        }
    }

    /** Reads the section, recording every problem with its place; calls {@code finish()} on every mapping read. */
    public static BgpConfig parse(ConfigMap m) {
        long localAs = m.longValue("local_as", 0, 1, 0xFFFF_FFFFL);
        if (!m.has("local_as")) {
            m.error("local_as", "missing required key 'local_as'", "this director's AS number, e.g. 65010");
        }
        String routerId = ipv4(m, "router_id", "an IPv4 address that names this director, e.g. its own 10.0.0.11");
        Duration hold = m.duration("hold_time", DEFAULT_HOLD, Duration.ZERO);
        if (!hold.isZero() && (hold.compareTo(Duration.ofSeconds(3)) < 0 || hold.compareTo(Duration.ofSeconds(65535)) > 0
                || hold.toMillis() % 1000 != 0)) {
            m.error("hold_time", "hold_time must be 0 or whole seconds from 3s to 65535s (RFC 4271)",
                    "e.g. 9s (with BFD the hold time is only the fallback)");
            hold = DEFAULT_HOLD;
        }
        Duration keepalive = m.duration("keepalive_time", hold.isZero() ? Duration.ZERO : hold.dividedBy(3),
                Duration.ZERO);
        if (keepalive.toMillis() % 1000 != 0 || (!hold.isZero() && keepalive.compareTo(hold) >= 0)
                || (!hold.isZero() && keepalive.isZero())) {
            m.error("keepalive_time", "keepalive_time must be whole seconds, above 0 and below hold_time ("
                    + hold.toSeconds() + "s)", "about a third of hold_time, e.g. " + Math.max(1, hold.toSeconds() / 3) + "s");
            keepalive = hold.isZero() ? Duration.ZERO : Duration.ofSeconds(Math.max(1, hold.toSeconds() / 3));
        }
        Optional<Bfd> bfd = bfd(m);
        List<Neighbor> neighbors = neighbors(m);
        List<Community> communities = communities(m);
        Optional<Long> med = m.has("med") ? Optional.of(m.longValue("med", 0, 0, 0xFFFF_FFFFL)) : Optional.empty();
        Duration convergence = m.duration("convergence_delay", DEFAULT_CONVERGENCE, Duration.ZERO);
        if (convergence.compareTo(Duration.ofMinutes(5)) > 0) {
            m.error("convergence_delay", "convergence_delay is too long", "a few seconds, at most 5m");
            convergence = DEFAULT_CONVERGENCE;
        }
        Bird bird = bird(m);
        m.finish();
        return new BgpConfig(localAs, routerId == null ? "0.0.0.0" : routerId, neighbors, hold, keepalive, bfd,
                communities, med, convergence, bird);
    }

    private static Optional<Bfd> bfd(ConfigMap m) {
        Optional<ConfigNode> raw = m.raw("bfd");
        if (raw.isEmpty()) {
            return Optional.empty();
        }
        if (raw.get() instanceof ConfigNode.Scalar s) {
            String t = s.text().trim().toLowerCase(java.util.Locale.ROOT);
            if (t.equals("on") || t.equals("true")) {
                return Optional.of(new Bfd(Duration.ofMillis(100), 3));
            }
            if (t.equals("off") || t.equals("false")) {
                return Optional.empty();
            }
            m.error("bfd", "'" + s.text() + "' is not on, off or a mapping", "on, off, or {interval: 100ms, multiplier: 3}");
            return Optional.empty();
        }
        Optional<ConfigMap> b = m.map("bfd");
        if (b.isEmpty()) {
            return Optional.empty();
        }
        boolean enabled = b.get().bool("enabled", true);
        Duration interval = b.get().duration("interval", Duration.ofMillis(100), Duration.ofMillis(10));
        if (interval.compareTo(Duration.ofSeconds(60)) > 0 || interval.toNanos() % 1_000_000 != 0) {
            b.get().error("interval", "interval must be whole milliseconds from 10ms to 60s", "e.g. 100ms");
            interval = Duration.ofMillis(100);
        }
        int multiplier = b.get().integer("multiplier", 3, 1, 255);
        b.get().finish();
        return enabled ? Optional.of(new Bfd(interval, multiplier)) : Optional.empty();
    }

    private static List<Neighbor> neighbors(ConfigMap m) {
        List<ConfigNode> items = m.list("neighbors");
        if (items.isEmpty()) {
            m.error("neighbors", "no neighbors", "a list of routers, e.g. - {address: 10.0.0.1, remote_as: 65000}");
        }
        List<Neighbor> out = new ArrayList<>();
        Set<String> seen = new HashSet<>();
        for (ConfigNode item : items) {
            ConfigMap n = ConfigMap.of(item, m.problems());
            String address = null;
            String text = n.requireString("address", "the router's IP address, e.g. 10.0.0.1");
            if (text != null) {
                String t = text.trim();
                if (IPV4.matcher(t).matches() || (t.indexOf(':') >= 0 && t.matches("[0-9a-fA-F:.]+") && valid6(t))) {
                    address = HostPort.canonicalIp(t);
                } else {
                    n.error("address", "'" + text + "' is not an IP address", "the router's IPv4 or IPv6 address");
                }
            }
            long remoteAs = n.longValue("remote_as", 0, 1, 0xFFFF_FFFFL);
            if (!n.has("remote_as")) {
                n.error("remote_as", "missing required key 'remote_as'", "the router's AS number, e.g. 65000");
            }
            int port = n.integer("port", 179, 1, 65535);
            Optional<String> password = Optional.empty();
            if (n.has("password")) {
                String p = n.string("password", "");
                if (!SAFE_PASSWORD.matcher(p).matches()) {
                    n.error("password", "the password must be 1..80 printable ASCII characters without spaces, quotes "
                            + "or backslashes", "a TCP MD5 secret like 's3cret-Key'");
                } else {
                    password = Optional.of(p);
                }
            }
            n.finish();
            if (address != null && !seen.add(address)) {
                n.error("address", "neighbor " + address + " is listed twice", "each router once");
                continue;
            }
            if (address != null && n.has("remote_as")) {
                out.add(new Neighbor(address, remoteAs, port, password));
            }
        }
        return out;
    }

    private static boolean valid6(String t) {
        try {
            return java.net.InetAddress.getByName(t) instanceof java.net.Inet6Address;
        } catch (java.net.UnknownHostException e) {
            return false;
        }
    }

    private static List<Community> communities(ConfigMap m) {
        List<Community> out = new ArrayList<>();
        for (ConfigNode n : m.list("communities")) {
            String text = n instanceof ConfigNode.Scalar s && !s.isNull() ? s.text().trim() : "";
            String[] parts = text.split(":", -1);
            try {
                if (parts.length != 2) {
                    throw new NumberFormatException();
                }
                int asn = Integer.parseInt(parts[0]);
                int value = Integer.parseInt(parts[1]);
                if (asn < 0 || asn > 65535 || value < 0 || value > 65535) {
                    throw new NumberFormatException();
                }
                out.add(new Community(asn, value));
            } catch (NumberFormatException e) {
                m.problems().add(n, "'" + text + "' is not a standard community",
                        "ASN:VALUE with both halves 0..65535, e.g. 65010:100");
            }
        }
        return out;
    }

    private static Bird bird(ConfigMap m) {
        Optional<ConfigMap> b = m.map("bird");
        if (b.isEmpty()) {
            return new Bird(DEFAULT_BIRD, DEFAULT_RUNTIME_DIR, Optional.empty(), Optional.empty(), true);
        }
        ConfigMap bm = b.get();
        Path binary = Path.of(bm.string("binary", DEFAULT_BIRD.toString()));
        Path runtime = Path.of(bm.string("runtime_dir", DEFAULT_RUNTIME_DIR.toString()));
        Optional<Path> socket = Optional.ofNullable(bm.string("socket", null)).map(Path::of);
        Optional<Path> routes = Optional.ofNullable(bm.string("routes_file", null)).map(Path::of);
        boolean realtime = bm.bool("realtime", true);
        if (socket.isPresent() && routes.isEmpty()) {
            bm.error("routes_file", "attaching to a running BIRD (bird.socket) needs routes_file",
                    "the file tiergate writes and your bird.conf includes, e.g. /etc/bird/tiergate-vips.conf");
        }
        if (routes.isPresent() && socket.isEmpty()) {
            bm.error("socket", "routes_file is only used with socket (an operator-run BIRD)",
                    "socket: /run/bird/bird.ctl, or drop routes_file to let tiergate run BIRD itself");
        }
        if (socket.isPresent() && (bm.has("binary") || bm.has("runtime_dir") || bm.has("realtime"))) {
            bm.error("socket", "with socket tiergate runs no BIRD, so binary, runtime_dir and realtime do not apply",
                    "either socket + routes_file, or binary/runtime_dir/realtime");
        }
        bm.finish();
        return new Bird(binary, runtime, socket, routes, realtime);
    }

    private static String ipv4(ConfigMap m, String key, String expected) {
        String text = m.requireString(key, expected);
        if (text == null) {
            return null;
        }
        if (!IPV4.matcher(text.trim()).matches()) {
            m.error(key, "'" + text + "' is not an IPv4 address", expected);
            return null;
        }
        return text.trim();
    }
}
