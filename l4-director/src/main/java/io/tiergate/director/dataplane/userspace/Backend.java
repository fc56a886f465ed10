package io.tiergate.director.dataplane.userspace;

import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * One destination of a userspace service with its live counters. The object survives weight changes (only
 * {@link #weight} is replaced), so least-connection keeps counting connections opened before a reconfiguration.
 */
final class Backend {
    final String id;
    final String address;
    final int port;
    volatile int weight;
    final AtomicInteger active = new AtomicInteger();
    final AtomicLong connections = new AtomicLong();
    final AtomicLong bytesIn = new AtomicLong();
    final AtomicLong bytesOut = new AtomicLong();
    final AtomicLong packetsIn = new AtomicLong();
    final AtomicLong packetsOut = new AtomicLong();
    /** Smooth weighted round robin state (nginx's algorithm); guarded by the Picker. */
    long currentWeight;

    Backend(String id, String address, int port, int weight) {
        this.id = id;
        this.address = address;
        this.port = port;
        this.weight = weight;
    }
}
