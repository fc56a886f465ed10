package io.tiergate.director;

import io.tiergate.director.admin.DirectorAdmin;
import io.tiergate.director.config.DirectorConfig;
import io.tiergate.director.dataplane.Dataplane;
import io.tiergate.director.dataplane.DataplaneException;
import io.tiergate.director.dataplane.DataplaneKind;
import io.tiergate.director.dataplane.ipvs.IpvsDataplane;
import io.tiergate.director.dataplane.nft.NftDataplane;
import io.tiergate.director.model.Role;
import io.tiergate.director.dataplane.userspace.UserspaceDataplane;
import io.tiergate.director.engine.DirectorStatus;
import io.tiergate.director.engine.Engine;
import io.tiergate.director.engine.HealthMonitor;
import io.tiergate.director.engine.Resolver;
import io.tiergate.director.engine.StepReport;
import io.tiergate.shared.health.HealthEngine;
import io.tiergate.shared.health.HealthState;
import io.tiergate.shared.health.HealthTarget;
import io.tiergate.shared.health.HealthTransition;
import io.vertx.core.Vertx;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletionException;
import java.util.concurrent.atomic.AtomicReference;

/**
 * The L4 director: picks a dataplane, starts the single-writer engine, the health checks and the admin endpoint.
 * This is the entry point the CLI (and the demo) use.
 */
public final class Director implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(Director.class);

    private final Engine engine;
    private final HealthEngine health;
    private final DirectorAdmin admin;
    private final Dataplane dataplane;

    private Director(Engine engine, HealthEngine health, DirectorAdmin admin, Dataplane dataplane) {
        this.engine = engine;
        this.health = health;
        this.admin = admin;
        this.dataplane = dataplane;
    }

    /** A dataplane and the sentence that explains why it was chosen (logged at start and shown by status). */
    public record Choice(DataplaneKind kind, String reason) {
    }

    /**
     * Resolves {@code dataplane: auto}: ipvs when root and the kernel has IPVS (or {@code modprobe ip_vs} adds it) and
     * the config is expressible on it; else nft when libnftables.so.1 loads and the config is expressible on nft;
     * otherwise userspace. The reason names what ruled out each better choice.
     */
    public static Choice choose(DirectorConfig config) {
        return choose(config, isRoot(), IpvsDataplane::unavailableReason, NftDataplane::unavailableReason);
    }

    static Choice choose(DirectorConfig config, boolean root, java.util.function.Supplier<Optional<String>> ipvsMissing,
                         java.util.function.Supplier<Optional<String>> nftMissing) {
        DataplaneKind asked = config.dataplane();
        if (asked != DataplaneKind.AUTO) {
            return new Choice(asked, "configured (dataplane: " + asked.configName() + ")");
        }
        if (!root) {
            return new Choice(DataplaneKind.USERSPACE, "auto: not root, so the kernel cannot be programmed");
        }
        List<String> why = new java.util.ArrayList<>();
        Optional<String> noIpvs = ipvsMissing.get();
        var cantIpvs = config.unsupportedOn(DataplaneKind.IPVS);
        if (noIpvs.isEmpty() && cantIpvs.isEmpty()) {
            return new Choice(DataplaneKind.IPVS, "auto: root and the kernel has IPVS");
        }
        why.add("ipvs: " + noIpvs.orElseGet(() -> "cannot express this config (" + cantIpvs.get(0) + ")"));
        Optional<String> noNft = nftMissing.get();
        // sync is an IPVS extra: without IPVS it is simply not run, not a reason to fall back further
        var cantNft = config.withSync(Optional.empty()).unsupportedOn(DataplaneKind.NFT);
        if (noNft.isEmpty() && cantNft.isEmpty()) {
            return new Choice(DataplaneKind.NFT, "auto: root and libnftables.so.1 loaded; " + why.get(0));
        }
        why.add("nft: " + noNft.orElseGet(() -> "cannot express this config (" + cantNft.get(0) + ")"));
        return new Choice(DataplaneKind.USERSPACE, "auto: " + String.join("; ", why));
    }

    public static Director start(Vertx vertx, DirectorConfig config) throws DataplaneException {
        Choice choice = choose(config);
        log.info("director dataplane: {} ({})", choice.kind().configName(), choice.reason());
        Callable<Dataplane> factory = switch (choice.kind()) {
            case NFT -> () -> NftDataplane.open(config);
            case USERSPACE -> () -> new UserspaceDataplane(vertx, config.connectTimeout(), config.udpIdleTimeout());
            case IPVS -> IpvsDataplane::open;
            default -> throw new DataplaneException("dataplane " + choice.kind().configName() + " cannot be started");
        };
        return start(vertx, config, factory, choice.reason());
    }

    /** With a dataplane of the caller's choosing (tests, embedding). */
    public static Director start(Vertx vertx, DirectorConfig config, Callable<Dataplane> factory, String reason)
            throws DataplaneException {
        AtomicReference<Engine> engineRef = new AtomicReference<>();
        // The engine's first step starts the probes, and a probe can report before Engine.start returns: keep
        // those early transitions and hand them over, or a real server would stay "unknown" for good (the health
        // engine reports changes only).
        List<HealthTransition> early = new ArrayList<>();
        HealthEngine health = new HealthEngine(vertx, t -> {
            Engine e;
            synchronized (early) {
                e = engineRef.get();
                if (e == null) {
                    early.add(t);
                    return;
                }
            }
            e.onHealth(t);
        });
        HealthMonitor monitor = new HealthMonitor() {
            @Override
            public void watch(HealthTarget target) {
                health.add(target, HealthState.UNKNOWN);
            }

            @Override
            public void unwatch(String id) {
                health.remove(id);
            }
        };
        AtomicReference<Dataplane> dp = new AtomicReference<>();
        Engine engine = Engine.start(config, () -> {
            Dataplane d = factory.call();
            dp.set(d);
            return d;
        }, monitor, Resolver.SYSTEM, reason);
        synchronized (early) {
            engineRef.set(engine);
            early.forEach(engine::onHealth);
            early.clear();
        }
        DirectorAdmin admin = null;
        if (config.admin().isPresent()) {
            try {
                admin = DirectorAdmin.start(vertx, config.admin().get(), engine);
                log.info("director admin on http://{}:{}/api/status", config.admin().get().host(), admin.port());
            } catch (Exception e) {
                engine.close();
                health.close();
                Throwable c = e.getCause() == null ? e : e.getCause();
                throw new DataplaneException("cannot start the admin endpoint on " + config.admin().get() + ": "
                        + c.getMessage() + " (set director.admin to a free address, or off)", c);
            }
        }
        return new Director(engine, health, admin, dp.get());
    }

    public StepReport reload(DirectorConfig config) {
        return join(engine.reload(config));
    }

    /**
     * Called by HA on a VRRP transition: MASTER runs the IPVS connection sync daemon as master, BACKUP as backup
     * (only with {@code sync} configured and the ipvs dataplane; a no-op otherwise).
     */
    public void setRole(Role role) {
        join(engine.role(role));
    }

    public StepReport drain(String service, String realServer) {
        return join(engine.drain(service, realServer));
    }

    public StepReport enable(String service, String realServer) {
        return join(engine.enable(service, realServer));
    }

    public DirectorStatus status() {
        return join(engine.status());
    }

    /** The admin endpoint's port, or -1 when it is off. */
    public int adminPort() {
        return admin == null ? -1 : admin.port();
    }

    public Dataplane dataplane() {
        return dataplane;
    }

    private static <T> T join(java.util.concurrent.CompletableFuture<T> f) {
        try {
            return f.join();
        } catch (CompletionException e) {
            if (e.getCause() instanceof RuntimeException re) {
                throw re;
            }
            throw e;
        }
    }

    /** Stops forwarding decisions and probes; kernel state stays (a restart must not break established flows). */
    @Override
    public void close() {
        if (admin != null) {
            admin.close();
        }
        health.close();
        engine.close();
    }

    static boolean isRoot() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (line.startsWith("Uid:")) {
                    return line.split("\\s+")[2].equals("0");
                }
            }
        } catch (Exception e) {
            // not Linux
        }
        return false;
    }
}
