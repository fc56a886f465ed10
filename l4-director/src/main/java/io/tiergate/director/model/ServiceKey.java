package io.tiergate.director.model;

import java.util.Objects;

/**
 * What identifies a virtual service to the kernel: protocol + VIP + port, or a firewall mark (then address and
 * port are empty/0). Written the way ipvsadm prints it: {@code tcp/10.0.0.100:80}, {@code fwmark/7}.
 */
public record ServiceKey(Protocol protocol, String vip, int port, int fwmark) implements Comparable<ServiceKey> {
    public ServiceKey {
        Objects.requireNonNull(protocol, "protocol");
        vip = vip == null ? "" : vip;
        if (fwmark < 0) {
            throw new IllegalArgumentException("fwmark: " + fwmark + " (expected: >= 0)");
        }
        if (fwmark == 0 && vip.isEmpty()) {
            throw new IllegalArgumentException("vip: \"\" (expected: an address, or a fwmark > 0)");
        }
        if (port < 0 || port > 65535) {
            throw new IllegalArgumentException("port: " + port + " (expected: 0..65535)");
        }
    }

    public static ServiceKey of(Protocol protocol, String vip, int port) {
        return new ServiceKey(protocol, vip, port, 0);
    }

    public static ServiceKey fwmark(Protocol protocol, int mark) {
        return new ServiceKey(protocol, "", 0, mark);
    }

    public boolean byFwmark() {
        return fwmark > 0;
    }

    @Override
    public String toString() {
        if (byFwmark()) {
            return "fwmark/" + fwmark + "/" + protocol.configName();
        }
        return protocol.configName() + "/" + (vip.indexOf(':') >= 0 ? "[" + vip + "]" : vip) + ":" + port;
    }

    @Override
    public int compareTo(ServiceKey o) {
        return toString().compareTo(o.toString());
    }
}
