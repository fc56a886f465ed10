package io.tiergate.director.dataplane.ipvs;

import java.net.InetAddress;
import java.util.Objects;

/**
 * A connection-synchronisation daemon (ipvsadm --start-daemon). The master multicasts its
 * connection table on {@code interfaceName}; backups with the same {@code syncId} apply it.
 * {@code maxLength}, {@code group}, {@code port} and {@code ttl} are optional: 0/null = kernel default.
 */
public record IpvsDaemon(State state, String interfaceName, int syncId, int maxLength, InetAddress group, int port, int ttl) {

    public enum State {
        MASTER(1),
        BACKUP(2);

        private final int code;

        State(int code) {
            this.code = code;
        }

        public int code() {
            return code;
        }

        public static State ofCode(int code) {
            return code == 2 ? BACKUP : MASTER;
        }
    }

    public IpvsDaemon {
        Objects.requireNonNull(state, "state");
        Objects.requireNonNull(interfaceName, "interfaceName");
        if (interfaceName.isEmpty() || interfaceName.length() > 15) {
            throw new IllegalArgumentException("interfaceName: '" + interfaceName + "' (expected: 1..15 characters)");
        }
        if (syncId < 0 || syncId > 255) {
            throw new IllegalArgumentException("syncId: " + syncId + " (expected: 0..255)");
        }
        if (port < 0 || port > 65535) {
            throw new IllegalArgumentException("port: " + port + " (expected: 0..65535)");
        }
        if (ttl < 0 || ttl > 255) {
            throw new IllegalArgumentException("ttl: " + ttl + " (expected: 0..255)");
        }
    }

    public static IpvsDaemon of(State state, String interfaceName, int syncId) {
        return new IpvsDaemon(state, interfaceName, syncId, 0, null, 0, 0);
    }
}
