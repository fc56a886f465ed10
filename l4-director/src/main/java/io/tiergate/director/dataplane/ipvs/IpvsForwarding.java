package io.tiergate.director.dataplane.ipvs;

/** How IPVS reaches a real server (IP_VS_CONN_F_* forwarding methods), named as ipvsadm names them. */
public enum IpvsForwarding {
    /** NAT: rewrite the destination address; replies must come back through the director. */
    MASQ(0, "Masq"),
    /** The director itself serves the connection. Reported by the kernel, not chosen. */
    LOCAL(1, "Local"),
    /** IP-in-IP (or GUE/GRE) tunnel to the real server. */
    TUNNEL(2, "Tunnel"),
    /** Direct routing (DR): rewrite the MAC only; the real server holds the VIP and answers directly. */
    ROUTE(3, "Route");

    private final int code;
    private final String ipvsadmName;

    IpvsForwarding(int code, String ipvsadmName) {
        this.code = code;
        this.ipvsadmName = ipvsadmName;
    }

    public int code() {
        return code;
    }

    /** The word in ipvsadm -L's "Forward" column. */
    public String ipvsadmName() {
        return ipvsadmName;
    }

    public static IpvsForwarding ofCode(int code) {
        for (IpvsForwarding f : values()) {
            if (f.code == (code & 0x7)) {
                return f;
            }
        }
        throw new IllegalArgumentException("forwarding method: " + code);
    }
}
