package io.tiergate.proxy.upstream;

import io.tiergate.proxy.log.ProxyMetrics;
import io.tiergate.shared.health.HealthCheck;
import io.tiergate.shared.health.HealthEngine;
import io.tiergate.shared.health.HealthState;
import io.tiergate.shared.health.HealthTarget;
import io.tiergate.shared.health.HealthTransition;
import io.vertx.core.Vertx;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Active health checks of upstream servers ({@code upstreams.<name>.health:}) on the shared {@link HealthEngine}.
 * The engine reports state changes; this class turns them into {@link Peer#setActiveHealthy}.
 *
 * <p>Outlier ejection: in a group with active checks, a server that passive health ({@code max_fails}) takes out
 * stays out until its checks have passed {@code rise} times again — not merely until {@code fail_timeout} runs out —
 * and is re-admitted as soon as they have (possibly before {@code fail_timeout}).
 *
 * <p>Target ids carry a generation so that a group replaced by a reload and its successor never share an id.
 */
public final class ActiveHealth implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(ActiveHealth.class);

    private final HealthEngine engine;
    private final ProxyMetrics metrics;
    private final Map<String, Watched> byId = new ConcurrentHashMap<>();
    private final Map<UpstreamGroup, List<String>> idsByGroup = new ConcurrentHashMap<>();
    private final AtomicLong generation = new AtomicLong();

    private record Watched(UpstreamGroup group, Peer peer, HealthTarget target) {
    }

    public ActiveHealth(Vertx vertx, ProxyMetrics metrics) {
        this.metrics = metrics;
        this.engine = new HealthEngine(vertx, this::changed);
    }

    /** Starts checking every server of {@code group}, if it has a {@code health:} section. */
    public void watch(UpstreamGroup group) {
        if (group.config().activeHealth().isEmpty() || idsByGroup.containsKey(group)) {
            return;
        }
        HealthCheck check = group.config().activeHealth().get();
        long gen = generation.incrementAndGet();
        List<String> ids = new ArrayList<>();
        Map<Peer, HealthTarget> targets = new ConcurrentHashMap<>();
        for (Peer p : group.peers()) {
            String id = group.name() + "/" + p.key() + "#" + gen;
            HealthTarget t = new HealthTarget(id, p.config().address().host(), p.config().address().port(), check,
                    tls(group.config(), p.config()));
            byId.put(id, new Watched(group, p, t));
            targets.put(p, t);
            ids.add(id);
            engine.add(t, HealthState.UP); // like nginx: in rotation from the start, `fall` failures take it out
        }
        idsByGroup.put(group, ids);
        group.onEjection(p -> {
            HealthTarget t = targets.get(p);
            if (t != null && byId.containsKey(t.id())) {
                p.setActiveHealthy(false);
                engine.add(t, HealthState.DOWN); // counts rise successes from now on
                log.warn("upstream '{}' server {} ejected after {} failure(s); re-admitted after {} passing check(s)",
                        group.name(), p.key(), p.config().maxFails(), check.rise());
            }
        });
    }

    /** The group's TLS for probes of {@code server} (HTTP/1.1: no ALPN), or null for a cleartext group. */
    private static HealthTarget.Tls tls(io.tiergate.proxy.config.UpstreamConfig group,
                                        io.tiergate.proxy.config.UpstreamConfig.Server server) {
        if (group.tls() == null) {
            return null;
        }
        return new HealthTarget.Tls(io.tiergate.proxy.tls.Certificates.clientOptions(group.tls(), false),
                group.tlsName(server));
    }

    /** Stops checking the servers of {@code group} (a reload dropped or replaced it). */
    public void unwatch(UpstreamGroup group) {
        List<String> ids = idsByGroup.remove(group);
        if (ids != null) {
            for (String id : ids) {
                byId.remove(id);
                engine.remove(id);
            }
        }
    }

    private void changed(HealthTransition t) {
        Watched w = byId.get(t.targetId());
        if (w == null) {
            return;
        }
        boolean up = t.to() == HealthState.UP;
        boolean wasAvailable = w.peer().activeHealthy();
        w.peer().setActiveHealthy(up);
        if (!up && wasAvailable) {
            metrics.ejection(w.group().name(), w.peer().key());
            w.peer().ejections.incrementAndGet();
        }
        if (t.from() != HealthState.UNKNOWN || !up) {
            String msg = "upstream '" + w.group().name() + "' server " + w.peer().key() + " is " + (up ? "UP" : "DOWN")
                    + " (" + t.reason() + ")";
            if (up) {
                w.group().events().info("health", msg);
            } else {
                w.group().events().warn("health", msg);
            }
            log.warn("upstream '{}' server {} {} -> {}: {}", w.group().name(), w.peer().key(), t.from(), t.to(),
                    t.reason());
        }
    }

    @Override
    public void close() {
        engine.close();
    }
}
