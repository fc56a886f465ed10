package io.tiergate.director.dataplane.ipvs;

/**
 * Connection timeouts in seconds (ipvsadm --set tcp tcpfin udp). In a SET_CONFIG, 0 leaves that
 * timeout unchanged, as with ipvsadm.
 */
public record IpvsTimeouts(int tcp, int tcpFin, int udp) {
    public IpvsTimeouts {
        if (tcp < 0 || tcpFin < 0 || udp < 0) {
            throw new IllegalArgumentException("timeouts: " + tcp + " " + tcpFin + " " + udp + " (expected: >= 0 seconds)");
        }
    }
}
