package io.tiergate.proxy.forward;

import io.tiergate.proxy.config.ProxyConfig;
import io.tiergate.proxy.route.RouteTable;

import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Everything a request needs, built whole from one config and swapped atomically on reload. A request holds the
 * snapshot it started with until it ends, so a reload never changes routing under a running request.
 */
public final class Snapshot {
    private final ProxyConfig config;
    private final RouteTable routes;
    private final Map<String, UpstreamClient> upstreams;
    private final AtomicInteger inFlight = new AtomicInteger();
    private volatile Runnable onDrained;

    public Snapshot(ProxyConfig config, RouteTable routes, Map<String, UpstreamClient> upstreams) {
        this.config = config;
        this.routes = routes;
        this.upstreams = Map.copyOf(upstreams);
    }

    public ProxyConfig config() {
        return config;
    }

    public RouteTable routes() {
        return routes;
    }

    public Map<String, UpstreamClient> upstreams() {
        return upstreams;
    }

    void acquire() {
        inFlight.incrementAndGet();
    }

    void release() {
        if (inFlight.decrementAndGet() == 0) {
            Runnable r = onDrained;
            if (r != null) {
                r.run();
            }
        }
    }

    public int inFlight() {
        return inFlight.get();
    }

    /** Runs {@code r} once no request uses this snapshot any more (immediately if none does). */
    public void whenDrained(Runnable r) {
        onDrained = r;
        if (inFlight.get() == 0) {
            onDrained = null;
            r.run();
        }
    }
}
