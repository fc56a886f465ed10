package io.tiergate.director.dataplane;

import java.util.Objects;

/** A real server as the dataplane holds it: a literal address (never a DNS name), a port and an effective weight. */
public record Destination(String address, int port, int weight) implements Comparable<Destination> {
    public Destination {
        Objects.requireNonNull(address, "address");
        if (port < 0 || port > 65535) {
            throw new IllegalArgumentException("port: " + port + " (expected: 0..65535)");
        }
        if (weight < 0) {
            throw new IllegalArgumentException("weight: " + weight + " (expected: >= 0)");
        }
    }

    /** {@code address:port}, the key counters and status rows use. */
    public String id() {
        return (address.indexOf(':') >= 0 ? "[" + address + "]" : address) + ":" + port;
    }

    @Override
    public int compareTo(Destination o) {
        return id().compareTo(o.id());
    }
}
