package io.tiergate.director.ha;

import io.tiergate.shared.config.ConfigMap;
import io.tiergate.shared.config.ConfigNode;

import io.tiergate.shared.config.HostPort;

import java.net.Inet4Address;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * The {@code director.vrrp:} section: one VRRPv3 instance (RFC 5798) protecting the director's VIPs, all of one
 * address family (IPv4 or IPv6, like a keepalived vrrp_instance). Keys are documented in docs/ha.md; names follow
 * keepalived's where one exists.
 *
 * @param sourceAddress our primary address on {@code interface}; empty: the interface's first IPv4 address (IPv4),
 *                      its link-local address (IPv6)
 * @param unicastPeers  empty: multicast to 224.0.0.18 (IPv4) or ff02::12 (IPv6)
 * @param trackWeight   0: unhealthy director goes to FAULT; negative: its priority drops by that much
 * @param notifyCommand command (and arguments) run on each transition with the new state appended
 * @param ownership     VIP lifetime and the GARP bursts after the first
 * @param tracking      keepalived's track_interface and track_script
 */
public record VrrpConfig(boolean enabled, String interfaceName, int vrid, int priority, Duration advertInterval,
                         boolean preempt, Duration preemptDelay, List<VirtualAddress> virtualAddresses,
                         Optional<InetAddress> sourceAddress, List<InetAddress> unicastPeers, int trackWeight,
                         int garpCount, Duration garpInterval, List<String> notifyCommand, boolean realtime,
                         Ownership ownership, VrrpTracking tracking) {

    /**
     * How the master holds and announces its VIPs beyond the first burst of gratuitous ARPs.
     *
     * @param vipLifetime   the VIPs are added with this {@code valid_lft} and refreshed while master, so a SIGKILLed
     *                      master's kernel drops them by itself; {@link Duration#ZERO}: forever (keepalived's way)
     * @param garpMasterDelay   a second burst of {@code garp_count} this long after becoming master; zero: none
     * @param garpMasterRefresh one gratuitous ARP per VIP this often while master; zero: none
     */
    public record Ownership(Duration vipLifetime, Duration garpMasterDelay, Duration garpMasterRefresh) {
        public static final Duration DEFAULT_GARP_MASTER_DELAY = Duration.ofSeconds(5);

        /** The defaults for {@code advertInterval}: lifetime {@link #autoLifetime}, second burst after 5 s. */
        public static Ownership defaults(Duration advertInterval) {
            return new Ownership(autoLifetime(advertInterval), DEFAULT_GARP_MASTER_DELAY, Duration.ZERO);
        }

        /**
         * {@code vip_lifetime: auto}: 2 × advert_interval − 1 s in whole seconds, at least 1 s. The kernel drops an
         * expired address up to a second late and a master refreshes every third of it, so a killed master's VIPs
         * are gone within 2 × advert_interval — before a backup takes over (3 × advert_interval + skew after the
         * last advert).
         */
        public static Duration autoLifetime(Duration advertInterval) {
            long s = (2 * advertInterval.toMillis() - 1_000) / 1_000;
            return Duration.ofSeconds(Math.max(1, s));
        }

        /** How often a master refreshes the lifetime (never slower than a third of it). */
        public Duration refreshEvery() {
            return vipLifetime.dividedBy(3);
        }
    }

    /** Without the {@link Ownership} settings: their defaults. */
    public VrrpConfig(boolean enabled, String interfaceName, int vrid, int priority, Duration advertInterval,
                      boolean preempt, Duration preemptDelay, List<VirtualAddress> virtualAddresses,
                      Optional<InetAddress> sourceAddress, List<InetAddress> unicastPeers, int trackWeight,
                      int garpCount, Duration garpInterval, List<String> notifyCommand, boolean realtime) {
        this(enabled, interfaceName, vrid, priority, advertInterval, preempt, preemptDelay, virtualAddresses,
                sourceAddress, unicastPeers, trackWeight, garpCount, garpInterval, notifyCommand, realtime,
                Ownership.defaults(advertInterval), VrrpTracking.NONE);
    }

    public static final Duration MIN_ADVERT_INTERVAL = Duration.ofMillis(10);
    public static final Duration MAX_ADVERT_INTERVAL = Duration.ofMillis(40_950);

    /**
     * A VIP: an address and the prefix length it is added with ({@code /32} or {@code /128} when not written).
     */
    public record VirtualAddress(InetAddress address, int prefixLength) {
        public VirtualAddress {
            int max = bits(address);
            if (prefixLength < 0 || prefixLength > max) {
                throw new IllegalArgumentException("prefixLength: " + prefixLength + " (expected: 0.." + max + ")");
            }
        }

        /** {@code 10.0.0.100/24}, {@code 10.0.0.100}, {@code 2001:db8::100/64} or {@code 2001:db8::100}. */
        public static VirtualAddress parse(String text) {
            String t = text.trim();
            int slash = t.indexOf('/');
            InetAddress a = parseIp(slash < 0 ? t : t.substring(0, slash));
            if (a instanceof Inet6Address && (a.isLinkLocalAddress() || a.isMulticastAddress())) {
                throw new IllegalArgumentException("'" + t + "' is a link-local or multicast address: a VIP must be a "
                        + "global or unique local IPv6 address");
            }
            int prefix = bits(a);
            if (slash >= 0) {
                try {
                    prefix = Integer.parseInt(t.substring(slash + 1));
                } catch (NumberFormatException e) {
                    throw new IllegalArgumentException("'" + text + "' has no valid prefix length");
                }
                if (prefix < 0 || prefix > bits(a)) {
                    throw new IllegalArgumentException("prefix length " + prefix + " is out of range (0.." + bits(a)
                            + ")");
                }
            }
            return new VirtualAddress(a, prefix);
        }

        public boolean ipv6() {
            return address instanceof Inet6Address;
        }

        @Override
        public String toString() {
            return text(address) + "/" + prefixLength;
        }
    }

    private static int bits(InetAddress a) {
        return a instanceof Inet6Address ? 128 : 32;
    }

    /** RFC 5952 text for IPv6 (as {@code ip} prints it), dotted quad for IPv4. */
    public static String text(InetAddress a) {
        return a instanceof Inet6Address ? HostPort.canonicalIp(a.getHostAddress().replaceFirst("%.*$", ""))
                : a.getHostAddress();
    }

    /** Whether this instance runs over IPv6 (its VIPs are IPv6 addresses). */
    public boolean ipv6() {
        return !virtualAddresses.isEmpty() && virtualAddresses.get(0).ipv6();
    }

    public VrrpConfig {
        virtualAddresses = List.copyOf(virtualAddresses);
        unicastPeers = List.copyOf(unicastPeers);
        notifyCommand = List.copyOf(notifyCommand);
    }

    /** Advertisement_Interval in centiseconds, as it goes on the wire. */
    public int advertIntervalCs() {
        return (int) (advertInterval.toMillis() / 10);
    }

    /** A config in code (tests, tools) with the YAML defaults for everything not given. */
    public static VrrpConfig of(String interfaceName, int vrid, int priority, Duration advertInterval,
                                List<String> virtualAddresses) {
        return new VrrpConfig(true, interfaceName, vrid, priority, advertInterval, true, Duration.ZERO,
                virtualAddresses.stream().map(VirtualAddress::parse).toList(), Optional.empty(), List.of(), 0,
                3, Duration.ofMillis(50), List.of(), true);
    }

    public VrrpConfig withPreempt(boolean p, Duration delay) {
        return new VrrpConfig(enabled, interfaceName, vrid, priority, advertInterval, p, delay, virtualAddresses,
                sourceAddress, unicastPeers, trackWeight, garpCount, garpInterval, notifyCommand, realtime, ownership,
                tracking);
    }

    public VrrpConfig withOwnership(Ownership o) {
        return new VrrpConfig(enabled, interfaceName, vrid, priority, advertInterval, preempt, preemptDelay,
                virtualAddresses, sourceAddress, unicastPeers, trackWeight, garpCount, garpInterval, notifyCommand,
                realtime, o, tracking);
    }

    /** Reads the section, recording every problem in {@code section.problems()}; calls {@code finish()}. */
    public static VrrpConfig parse(ConfigMap section) {
        boolean enabled = section.bool("enabled", true);
        String iface = section.requireString("interface", "the network interface VRRP runs on, e.g. eth0");
        int vrid = section.integer("vrid", 0, 1, 255);
        if (!section.has("vrid")) {
            section.error("vrid", "missing required key 'vrid'", "the virtual router id, 1..255, same on every peer");
        }
        int priority = section.integer("priority", 100, 1, 255);
        Duration advert = section.duration("advert_interval", Duration.ofMillis(100), MIN_ADVERT_INTERVAL);
        if (advert.compareTo(MAX_ADVERT_INTERVAL) > 0 || advert.toNanos() % 10_000_000L != 0) {
            section.error("advert_interval", "advert_interval must be a whole number of centiseconds up to 40.95s",
                    "a duration from 10ms to 40950ms in steps of 10ms (VRRPv3 carries centiseconds)");
            advert = Duration.ofMillis(100);
        }
        boolean preempt = section.bool("preempt", true);
        Duration preemptDelay = section.duration("preempt_delay", Duration.ZERO);
        if (preemptDelay.compareTo(Duration.ofSeconds(1000)) > 0) {
            section.error("preempt_delay", "preempt_delay is too large", "a duration up to 1000s");
            preemptDelay = Duration.ZERO;
        }

        List<VirtualAddress> vips = new ArrayList<>();
        List<ConfigNode> vipNodes = section.list("virtual_addresses");
        if (vipNodes.isEmpty()) {
            section.error("virtual_addresses", "missing required key 'virtual_addresses'",
                    "a list of IPv4 or IPv6 addresses, e.g. [10.0.0.100/24]");
        }
        String vipExpected = "an IPv4 or IPv6 address with optional /prefix, e.g. 10.0.0.100/24 or 2001:db8::100/64";
        Boolean family = null; // of the first VIP: the instance's
        for (ConfigNode n : vipNodes) {
            Optional<ConfigNode.Scalar> sc = scalar(section, n, vipExpected);
            if (sc.isEmpty()) {
                continue;
            }
            VirtualAddress v;
            try {
                v = VirtualAddress.parse(sc.get().text());
            } catch (IllegalArgumentException e) {
                section.problems().add(sc.get(), e.getMessage(), vipExpected);
                continue;
            }
            if (family == null) {
                family = v.ipv6();
            } else if (family != v.ipv6()) {
                section.problems().add(sc.get(), "'" + v + "' is " + familyName(v.ipv6()) + ", but the first VIP of this "
                        + "vrrp instance is " + familyName(family) + ": one VRRP instance carries one address family "
                        + "(RFC 5798; keepalived too needs a separate vrrp_instance per family)",
                        "only " + familyName(family) + " VIPs here; put the " + familyName(v.ipv6()) + " VIPs in "
                        + "the vrrp section of another director pair's config");
                continue;
            }
            vips.add(v);
        }
        boolean v6 = family != null && family;
        if (vips.size() > 255) {
            section.error("virtual_addresses", vips.size() + " addresses is too many", "at most 255 (one advert)");
        }

        Optional<InetAddress> source = Optional.empty();
        if (section.has("source_address")) {
            source = address(section, section.raw("source_address").get(), v6, v6
                    ? "our link-local IPv6 address on the interface (RFC 5798 §5.1.2.1), e.g. fe80::1"
                    : "our primary IPv4 address on the interface");
            if (v6 && source.isPresent() && !source.get().isLinkLocalAddress()) {
                section.error("source_address", "'" + text(source.get()) + "' is not a link-local address: VRRP over "
                        + "IPv6 sends from the interface's link-local address (RFC 5798 §5.1.2.1)",
                        "the interface's fe80:: address, or leave source_address out");
                source = Optional.empty();
            }
        }
        List<InetAddress> peers = new ArrayList<>();
        for (ConfigNode n : section.list("unicast_peers")) {
            address(section, n, v6, "an " + familyName(v6) + " address of a peer (the family of the VIPs)")
                    .ifPresent(peers::add);
        }
        int trackWeight = section.integer("track_weight", 0, -254, 0);
        int garpCount = section.integer("garp_count", 3, 1, 100);
        Duration garpInterval = section.duration("garp_interval", Duration.ofMillis(50), Duration.ofMillis(1));
        List<String> notify = section.stringList("notify", List.of());
        boolean realtime = section.bool("realtime", true);
        Ownership ownership = new Ownership(vipLifetime(section, advert),
                bounded(section, "garp_master_delay", Ownership.DEFAULT_GARP_MASTER_DELAY, Duration.ofHours(1),
                        "0s (no second burst) or a duration up to 1h, e.g. 5s"),
                bounded(section, "garp_master_refresh", Duration.ZERO, Duration.ofDays(1),
                        "0s (off) or a duration from 1s to 1d, e.g. 60s"));
        if (!ownership.garpMasterRefresh().isZero() && ownership.garpMasterRefresh().compareTo(Duration.ofSeconds(1)) < 0) {
            section.error("garp_master_refresh", "garp_master_refresh " + ownership.garpMasterRefresh().toMillis()
                    + "ms would flood the segment with ARP", "0s (off) or a duration from 1s to 1d, e.g. 60s");
        }
        Duration burst = garpInterval.multipliedBy(garpCount - 1L);
        if (!ownership.garpMasterDelay().isZero() && ownership.garpMasterDelay().compareTo(burst) <= 0) {
            section.error("garp_master_delay", "garp_master_delay " + ownership.garpMasterDelay().toMillis()
                    + "ms would start the second burst before the first (" + garpCount + " × garp_interval) ends",
                    "0s (no second burst) or more than " + burst.toMillis() + "ms");
        }
        VrrpTracking tracking = VrrpTracking.parse(section);
        section.finish();
        return new VrrpConfig(enabled, iface == null ? "" : iface, vrid == 0 ? 1 : vrid, priority, advert, preempt,
                preemptDelay, vips, source, peers, trackWeight, garpCount, garpInterval, notify, realtime, ownership,
                tracking);
    }

    private static Duration bounded(ConfigMap section, String key, Duration def, Duration max, String expected) {
        Duration d = section.duration(key, def);
        if (d.compareTo(max) > 0) {
            section.error(key, key + " " + d.toSeconds() + "s is too large", expected);
            return def;
        }
        return d;
    }

    /** {@code auto} (default), {@code forever}, or whole seconds from 1s to 1d. */
    private static Duration vipLifetime(ConfigMap section, Duration advert) {
        String expected = "auto (2 × advert_interval − 1s, at least 1s), forever, or whole seconds from 1s to 1d";
        Optional<ConfigNode> raw = section.raw("vip_lifetime");
        if (raw.isEmpty()) {
            return Ownership.autoLifetime(advert);
        }
        if (raw.get() instanceof ConfigNode.Scalar s && (s.text().equals("auto") || s.text().equals("forever"))) {
            return s.text().equals("auto") ? Ownership.autoLifetime(advert) : Duration.ZERO;
        }
        Duration d = section.duration("vip_lifetime", Duration.ofSeconds(1), Duration.ofSeconds(1));
        if (d.toNanos() % 1_000_000_000L != 0 || d.compareTo(Duration.ofDays(1)) > 0) {
            section.error("vip_lifetime", "vip_lifetime must be whole seconds up to 1d (the kernel counts valid_lft "
                    + "in seconds)", expected);
            return Ownership.autoLifetime(advert);
        }
        return d;
    }

    private static Optional<ConfigNode.Scalar> scalar(ConfigMap section, ConfigNode n, String expected) {
        if (n instanceof ConfigNode.Scalar s && !s.isNull()) {
            return Optional.of(s);
        }
        section.problems().add(n, "is " + n.kind(), expected);
        return Optional.empty();
    }

    private static String familyName(boolean v6) {
        return v6 ? "IPv6" : "IPv4";
    }

    /** An address of the instance's family ({@code v6}). */
    private static Optional<InetAddress> address(ConfigMap section, ConfigNode n, boolean v6, String expected) {
        return scalar(section, n, expected).flatMap(s -> {
            try {
                InetAddress a = parseIp(s.text());
                if ((a instanceof Inet6Address) != v6) {
                    section.problems().add(s, "'" + text(a) + "' is " + familyName(!v6) + ", but the VIPs of this vrrp "
                            + "instance are " + familyName(v6) + ": one VRRP instance speaks one address family",
                            expected);
                    return Optional.empty();
                }
                return Optional.of(a);
            } catch (IllegalArgumentException e) {
                section.problems().add(s, e.getMessage(), expected);
                return Optional.empty();
            }
        });
    }

    /** An IPv4 dotted quad or an IPv6 literal (no zone): never a DNS lookup. */
    static InetAddress parseIp(String text) {
        String t = text.trim();
        if (t.indexOf(':') < 0) {
            return parseIpv4(t);
        }
        if (!t.matches("[0-9a-fA-F:.]+")) {
            throw new IllegalArgumentException("'" + t + "' is not an IPv6 address");
        }
        try {
            InetAddress a = InetAddress.getByName(t); // a literal with ':' is parsed, never looked up
            if (!(a instanceof Inet6Address)) {
                throw new IllegalArgumentException("'" + t + "' is an IPv4-mapped address: write it as IPv4");
            }
            return a;
        } catch (UnknownHostException e) {
            throw new IllegalArgumentException("'" + t + "' is not an IPv6 address");
        }
    }

    /** Dotted-quad only: never a DNS lookup. */
    static Inet4Address parseIpv4(String text) {
        if (text.indexOf(':') >= 0) {
            throw new IllegalArgumentException("'" + text.trim() + "' is not an IPv4 address");
        }
        String[] parts = text.trim().split("\\.", -1);
        if (parts.length != 4) {
            throw new IllegalArgumentException("'" + text + "' is not an IPv4 address");
        }
        int ip = 0;
        for (String p : parts) {
            if (p.isEmpty() || p.length() > 3 || !p.chars().allMatch(Character::isDigit)) {
                throw new IllegalArgumentException("'" + text + "' is not an IPv4 address");
            }
            int v = Integer.parseInt(p);
            if (v > 255) {
                throw new IllegalArgumentException("'" + text + "' is not an IPv4 address");
            }
            ip = (ip << 8) | v;
        }
        return VrrpPacket.toAddress(ip);
    }
}
