package io.tiergate.director.dataplane.ipvs;

import java.net.Inet4Address;
import java.net.InetAddress;

/** Address family of a virtual service or real server. */
public enum IpvsFamily {
    INET(2, 4),
    INET6(10, 16);

    private final int af;
    private final int addressLength;

    IpvsFamily(int af, int addressLength) {
        this.af = af;
        this.addressLength = addressLength;
    }

    /** The AF_* number the kernel uses. */
    public int af() {
        return af;
    }

    public int addressLength() {
        return addressLength;
    }

    public int maxPrefix() {
        return addressLength * 8;
    }

    public static IpvsFamily of(InetAddress address) {
        return address instanceof Inet4Address ? INET : INET6;
    }

    public static IpvsFamily ofAf(int af) {
        for (IpvsFamily f : values()) {
            if (f.af == af) {
                return f;
            }
        }
        throw new IllegalArgumentException("af: " + af + " (expected: 2 or 10)");
    }
}
