package io.tiergate.director.dataplane.ipvs;

/** Encapsulation for {@link IpvsForwarding#TUNNEL} (IP_VS_CONN_F_TUNNEL_TYPE_*). */
public enum IpvsTunnelType {
    IPIP(0),
    GUE(1),
    GRE(2);

    private final int code;

    IpvsTunnelType(int code) {
        this.code = code;
    }

    public int code() {
        return code;
    }

    public static IpvsTunnelType ofCode(int code) {
        for (IpvsTunnelType t : values()) {
            if (t.code == code) {
                return t;
            }
        }
        throw new IllegalArgumentException("tunnel type: " + code);
    }
}
