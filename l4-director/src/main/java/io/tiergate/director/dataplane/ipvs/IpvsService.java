package io.tiergate.director.dataplane.ipvs;

import java.net.Inet6Address;
import java.net.InetAddress;
import java.util.Objects;

/**
 * An IPVS virtual service as ipvsadm shows it: either protocol + address + port, or a firewall
 * mark ({@code fwmark > 0}, then protocol and address are null). Persistence keeps a client on
 * one real server for {@code timeoutSeconds}, grouped by {@code netmaskPrefix} bits of its address.
 * {@code schedulerFlags} are ipvsadm's flag-1..3 (bits 0..2), e.g. sh-fallback, sh-port, mh-port.
 * {@code stats} is {@link IpvsStats#ZERO} for a service not read from the kernel.
 */
public record IpvsService(IpvsFamily family, IpvsProtocol protocol, InetAddress address, int port, int fwmark,
                          String scheduler, boolean persistent, boolean onePacket, int schedulerFlags,
                          int timeoutSeconds, int netmaskPrefix, String persistenceEngine, IpvsStats stats) {

    public IpvsService {
        Objects.requireNonNull(family, "family");
        Objects.requireNonNull(scheduler, "scheduler");
        Objects.requireNonNull(stats, "stats");
        if (fwmark == 0) {
            Objects.requireNonNull(protocol, "protocol");
            Objects.requireNonNull(address, "address");
            if (IpvsFamily.of(address) != family) {
                throw new IllegalArgumentException("address: " + address.getHostAddress() + " (expected: an " + family + " address)");
            }
        } else if (protocol != null || address != null) {
            throw new IllegalArgumentException("fwmark service " + fwmark + " has a protocol or address (expected: neither)");
        }
        if (port < 0 || port > 65535) {
            throw new IllegalArgumentException("port: " + port + " (expected: 0..65535)");
        }
        if (scheduler.isEmpty() || scheduler.length() > 15) {
            throw new IllegalArgumentException("scheduler: '" + scheduler + "' (expected: 1..15 characters)");
        }
        if (timeoutSeconds < 0) {
            throw new IllegalArgumentException("timeoutSeconds: " + timeoutSeconds + " (expected: >= 0)");
        }
        if (netmaskPrefix < 1 || netmaskPrefix > family.maxPrefix()) {
            throw new IllegalArgumentException("netmaskPrefix: " + netmaskPrefix + " (expected: 1.." + family.maxPrefix() + ")");
        }
        if (schedulerFlags < 0 || schedulerFlags > 7) {
            throw new IllegalArgumentException("schedulerFlags: " + schedulerFlags + " (expected: 0..7)");
        }
    }

    public static Builder builder(IpvsProtocol protocol, InetAddress address, int port) {
        return new Builder(IpvsFamily.of(Objects.requireNonNull(address, "address")), protocol, address, port, 0);
    }

    public static Builder tcp(InetAddress address, int port) {
        return builder(IpvsProtocol.TCP, address, port);
    }

    public static Builder udp(InetAddress address, int port) {
        return builder(IpvsProtocol.UDP, address, port);
    }

    public static Builder fwmark(IpvsFamily family, int fwmark) {
        if (fwmark <= 0) {
            throw new IllegalArgumentException("fwmark: " + fwmark + " (expected: > 0)");
        }
        return new Builder(family, null, null, 0, fwmark);
    }

    public boolean isFwmark() {
        return fwmark != 0;
    }

    /** Same virtual service (the kernel's key), whatever the settings and counters. */
    public boolean sameKey(IpvsService o) {
        return family == o.family && fwmark == o.fwmark && protocol == o.protocol && port == o.port
                && Objects.equals(address, o.address);
    }

    public Builder toBuilder() {
        Builder b = new Builder(family, protocol, address, port, fwmark);
        b.scheduler = scheduler;
        b.persistent = persistent;
        b.onePacket = onePacket;
        b.schedulerFlags = schedulerFlags;
        b.timeoutSeconds = timeoutSeconds;
        b.netmaskPrefix = netmaskPrefix;
        b.persistenceEngine = persistenceEngine;
        return b;
    }

    /** "TCP 10.0.0.1:80", "UDP [2001:db8::1]:53", "FWM 42" or "FWM 42 (IPv6)", as an operator reads it. */
    public String describe() {
        if (isFwmark()) {
            return "FWM " + fwmark + (family == IpvsFamily.INET6 ? " (IPv6)" : "");
        }
        return protocol + " " + hostPort(address, port);
    }

    static String hostPort(InetAddress address, int port) {
        String host = address.getHostAddress();
        return (address instanceof Inet6Address ? "[" + host + "]" : host) + ":" + port;
    }

    @Override
    public String toString() {
        return describe() + " " + scheduler + (persistent ? " persistent " + timeoutSeconds : "") + (onePacket ? " ops" : "");
    }

    public static final class Builder {
        private final IpvsFamily family;
        private final IpvsProtocol protocol;
        private final InetAddress address;
        private final int port;
        private final int fwmark;
        private String scheduler = "wlc";
        private boolean persistent;
        private boolean onePacket;
        private int schedulerFlags;
        private int timeoutSeconds;
        private int netmaskPrefix;
        private String persistenceEngine;
        private IpvsStats stats = IpvsStats.ZERO;

        private Builder(IpvsFamily family, IpvsProtocol protocol, InetAddress address, int port, int fwmark) {
            this.family = family;
            this.protocol = protocol;
            this.address = address;
            this.port = port;
            this.fwmark = fwmark;
            this.netmaskPrefix = family.maxPrefix();
        }

        /** rr wrr lc wlc lblc lblcr dh sh sed nq mh fo ovf twos; default wlc, as ipvsadm. */
        public Builder scheduler(String scheduler) {
            this.scheduler = Objects.requireNonNull(scheduler, "scheduler");
            return this;
        }

        /** Persistence for {@code timeoutSeconds} (ipvsadm -p; its default is 300). */
        public Builder persistent(int timeoutSeconds) {
            this.persistent = true;
            this.timeoutSeconds = timeoutSeconds;
            return this;
        }

        public Builder notPersistent() {
            this.persistent = false;
            this.timeoutSeconds = 0;
            return this;
        }

        /** Persistence granularity: clients sharing this many leading address bits stick together (-M). */
        public Builder netmaskPrefix(int prefix) {
            this.netmaskPrefix = prefix;
            return this;
        }

        /** One-packet scheduling (-o): every UDP datagram scheduled on its own. */
        public Builder onePacket(boolean onePacket) {
            this.onePacket = onePacket;
            return this;
        }

        /** Bits 0..2 = ipvsadm's flag-1, flag-2, flag-3 (scheduler-specific). */
        public Builder schedulerFlags(int flags) {
            this.schedulerFlags = flags;
            return this;
        }

        /** Persistence engine, e.g. "sip" (--pe). */
        public Builder persistenceEngine(String pe) {
            this.persistenceEngine = pe;
            return this;
        }

        public Builder stats(IpvsStats stats) {
            this.stats = stats;
            return this;
        }

        public IpvsService build() {
            return new IpvsService(family, protocol, address, port, fwmark, scheduler, persistent, onePacket,
                    schedulerFlags, timeoutSeconds, netmaskPrefix, persistenceEngine, stats);
        }
    }
}
