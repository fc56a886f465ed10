package io.tiergate.director.dataplane.ipvs;

/** Transport protocol of an address/port virtual service (IPPROTO_* numbers). */
public enum IpvsProtocol {
    TCP(6),
    UDP(17),
    SCTP(132);

    private final int number;

    IpvsProtocol(int number) {
        this.number = number;
    }

    public int number() {
        return number;
    }

    public static IpvsProtocol ofNumber(int n) {
        for (IpvsProtocol p : values()) {
            if (p.number == n) {
                return p;
            }
        }
        throw new IllegalArgumentException("protocol: " + n + " (expected: 6, 17 or 132)");
    }
}
