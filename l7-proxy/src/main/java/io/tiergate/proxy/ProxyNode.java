package io.tiergate.proxy;

import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.tiergate.proxy.config.ListenerConfig;
import io.tiergate.proxy.config.ProxyConfig;
import io.tiergate.proxy.config.UpstreamConfig;
import io.tiergate.proxy.forward.ProxyHandler;
import io.tiergate.proxy.forward.Snapshot;
import io.tiergate.proxy.forward.UpstreamClient;
import io.tiergate.proxy.log.AccessLog;
import io.tiergate.proxy.log.ProxyMetrics;
import io.tiergate.proxy.route.RouteTable;
import io.tiergate.proxy.upstream.ActiveHealth;
import io.tiergate.proxy.upstream.UpstreamGroup;
import io.vertx.core.DeploymentOptions;
import io.vertx.core.VerticleBase;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpConnection;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.http.HttpVersion;
import io.vertx.core.net.PemKeyCertOptions;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Function;

/**
 * One L7 proxy node: its listeners and the current {@link Snapshot} (route table + upstream groups). Reload builds a
 * new snapshot and swaps it atomically; requests finish on the one they started with. Upstream groups whose config
 * did not change are carried over with their health state and connection pools.
 */
public final class ProxyNode {
    private final Vertx vertx;
    private final AtomicReference<Snapshot> current = new AtomicReference<>();
    private final Map<ListenerConfig, List<HttpServer>> servers = new LinkedHashMap<>();
    private final Map<ListenerConfig, Integer> ports = new LinkedHashMap<>();
    private final ProxyMetrics metrics;
    private final AccessLog accessLog;
    private final ProxyHandler handler;
    private final int eventLoops;
    private final ActiveHealth health;
    private final Function<String, List<String>> resolver;
    private final Object reloadLock = new Object();
    private long resolveTimer = -1;
    private static final java.util.concurrent.atomic.AtomicInteger SHARED_RANDOM_PORT =
            new java.util.concurrent.atomic.AtomicInteger();
    private static final org.slf4j.Logger log = org.slf4j.LoggerFactory.getLogger(ProxyNode.class);

    private ProxyNode(Vertx vertx, ProxyConfig config, MeterRegistry registry, Function<String, List<String>> resolver) {
        this.vertx = vertx;
        this.resolver = resolver;
        this.metrics = new ProxyMetrics(registry);
        this.accessLog = new AccessLog(config.accessLog());
        this.handler = new ProxyHandler(vertx, current::get, metrics, accessLog);
        this.eventLoops = Math.max(1, Runtime.getRuntime().availableProcessors());
        this.health = new ActiveHealth(vertx, metrics);
    }

    public static Future<ProxyNode> start(Vertx vertx, ProxyConfig config) {
        return start(vertx, config, new SimpleMeterRegistry());
    }

    /** Starts with the meters registered in {@code registry} (the admin server's Prometheus registry). */
    public static Future<ProxyNode> start(Vertx vertx, ProxyConfig config, MeterRegistry registry) {
        return start(vertx, config, registry, ProxyNode::systemResolve);
    }

    /** With a given DNS resolver (name → addresses; tests use a map). Blocks while resolving. */
    public static Future<ProxyNode> start(Vertx vertx, ProxyConfig config, MeterRegistry registry,
                                          Function<String, List<String>> resolver) {
        ProxyNode node = new ProxyNode(vertx, config, registry, resolver);
        node.current.set(node.build(config, Map.of()));
        node.startResolving();
        List<Future<?>> binds = new ArrayList<>();
        for (ListenerConfig l : config.listeners()) {
            binds.add(node.bind(l));
        }
        return Future.all(binds).map(node).recover(t -> node.shutdown(Duration.ZERO).transform(x -> Future.failedFuture(t)));
    }

    /** The node's HTTP cache (one store for the node's lifetime), for the admin API's purge. */
    public io.tiergate.proxy.cache.CacheFilter cache() {
        return handler.cache();
    }

    public ProxyConfig config() {
        return current.get().config();
    }

    public MeterRegistry meterRegistry() {
        return metrics.registry();
    }

    /** Actual bound ports in listener order (port 0 in the config becomes the port the OS chose). */
    public synchronized List<Integer> listenPorts() {
        // In the order of `servers` (filled synchronously in listener order), not of `ports` (filled as binds
        // complete, which is any order when several listeners bind at once).
        List<Integer> out = new ArrayList<>();
        for (ListenerConfig l : servers.keySet()) {
            Integer p = ports.get(l);
            if (p != null) {
                out.add(p);
            }
        }
        return out;
    }

    /** The peers of an upstream group as currently known, for status pages and tests. */
    public UpstreamGroup upstream(String name) {
        UpstreamClient c = current.get().upstreams().get(name);
        return c == null ? null : c.group();
    }

    /** May block (DNS): never called on an event loop. */
    private Snapshot build(ProxyConfig config, Map<String, UpstreamClient> previous) {
        Map<String, UpstreamClient> ups = new HashMap<>();
        for (UpstreamConfig u : config.upstreams().values()) {
            UpstreamClient old = previous.get(u.name());
            UpstreamConfig resolved = resolve(u);
            if (old != null && old.declared().equals(u) && old.group().config().equals(resolved)) {
                ups.put(u.name(), old);
            } else {
                UpstreamGroup g = new UpstreamGroup(resolved);
                health.watch(g);
                ups.put(u.name(), new UpstreamClient(vertx, g, u));
            }
        }
        return new Snapshot(config, RouteTable.build(config), ups);
    }

    private UpstreamConfig resolve(UpstreamConfig u) {
        List<String> failures = new ArrayList<>();
        UpstreamConfig r = u.resolved(resolver, failures);
        failures.forEach(f -> log.warn("{}", f));
        return r;
    }

    /**
     * Re-resolves the DNS names of upstream servers; when an address set changed, swaps in a snapshot in which only
     * those groups are new (the others keep their pools and health). Runs on a worker thread.
     */
    private void refreshNames() {
        synchronized (reloadLock) {
            Snapshot s = current.get();
            boolean changed = false;
            for (UpstreamClient c : s.upstreams().values()) {
                if (c.declared().hasNames() && !resolve(c.declared()).equals(c.group().config())) {
                    changed = true;
                }
            }
            if (changed) {
                log.info("upstream addresses changed in DNS; updating the groups concerned");
                swap(s.config());
            }
        }
    }

    private void startResolving() {
        current.get().config().upstreams().values().stream().filter(UpstreamConfig::hasNames)
                .map(UpstreamConfig::resolveInterval).min(Duration::compareTo).ifPresent(every ->
                        resolveTimer = vertx.setPeriodic(every.toMillis(), id -> vertx.executeBlocking(() -> {
                            refreshNames();
                            return null;
                        }, false)));
    }

    /**
     * One HttpServer per event loop, deployed as verticle instances so Vert.x shares the socket between them and
     * connections spread over all cores. Port 0 becomes a negative port unique to this listener: Vert.x's "one random
     * port shared by all instances".
     */
    private Future<Void> bind(ListenerConfig l) {
        ProxyConfig c = current.get().config();
        List<HttpServer> list = new java.util.concurrent.CopyOnWriteArrayList<>();
        synchronized (this) {
            servers.put(l, list);
        }
        // A negative port is Vert.x's "random port shared by the servers that use this same value": each listener
        // needs its own value, or every port-0 listener (of any node in this Vert.x) would share one socket.
        int port = l.address().port() == 0 ? SHARED_RANDOM_PORT.decrementAndGet() : l.address().port();
        return vertx.deployVerticle(() -> new VerticleBase() {
            @Override
            public Future<?> start() {
                return listen(l, c, port).onSuccess(list::add);
            }
        }, new DeploymentOptions().setInstances(eventLoops)).<Void>mapEmpty().onSuccess(v -> {
            synchronized (this) {
                ports.put(l, list.get(0).actualPort());
            }
        }).recover(t -> Future.failedFuture(new IllegalStateException(
                "cannot listen on " + l.address() + ": " + t.getMessage(), t)));
    }

    private Future<HttpServer> listen(ListenerConfig l, ProxyConfig c, int port) {
        HttpServerOptions o = new HttpServerOptions()
                .setMaxInitialLineLength(c.limits().maxUriLength() + 64)
                .setMaxHeaderSize(c.limits().maxHeaderSize())
                // A backstop only: ConnectionGuard enforces header and keep-alive timeouts, Body the body timeout.
                .setIdleTimeout((int) (Math.max(c.timeouts().keepalive().toSeconds(),
                        c.timeouts().upstreamRead().toSeconds()) + 30))
                .setHandle100ContinueAutomatically(false)
                .setHttp2ClearTextEnabled(l.h2c())
                .setTcpNoDelay(true);
        if (l.tls() != null) {
            PemKeyCertOptions pem = new PemKeyCertOptions();
            for (ListenerConfig.KeyPair kp : l.tls().certificates()) {
                pem.addCertPath(kp.cert().toString()).addKeyPath(kp.key().toString());
            }
            o.setSsl(true).setSni(true).setKeyCertOptions(pem);
            if (l.tls().http2()) {
                o.setUseAlpn(true).setAlpnVersions(List.of(HttpVersion.HTTP_2, HttpVersion.HTTP_1_1));
            }
        }
        ListenerConfig.ProxyProtocol pp = l.proxyProtocol();
        return vertx.createHttpServer(o)
                .connectionHandler(conn -> {
                    // AcceptHook refused untrusted peers and armed the client_header deadline at accept; this runs on
                    // the connection's event loop once Vert.x has chosen the protocol (on an h2c listener, with the
                    // first HTTP/1.x request head already read).
                    if (pp != null && !ProxyProtocol.accepted(conn, pp)) {
                        return;
                    }
                    ProxyConfig.Timeouts t = current.get().config().timeouts();
                    ConnectionGuard.install(conn, t.clientHeader(), t.keepalive(), l.h2c());
                })
                .requestHandler(req -> {
                    if (pp != null && !ProxyProtocol.admitted(req, pp)) {
                        ProxyProtocol.refuse(req); // belt and braces: never serve an unadmitted connection
                        return;
                    }
                    handler.handle(req, l.name());
                })
                .listen(port, l.address().host())
                .compose(server -> AcceptHook.install(server, pp, () -> current.get().config().timeouts().clientHeader(),
                        l.maxConnections(), io.micrometer.core.instrument.Counter.builder(
                                "tiergate_proxy_connections_refused").tag("listener", l.name())
                                .description("Connections closed at accept: the listener's max_connections was reached")
                                .register(metrics.registry())::increment));
    }

    /**
     * Validated config in, new snapshot swapped in. Listeners that were added are bound, removed ones are shut down
     * gracefully; unchanged listeners keep their sockets and connections.
     */
    public Future<Void> reload(ProxyConfig newConfig) {
        synchronized (reloadLock) {
            Future<Void> f = swap(newConfig);
            if (resolveTimer >= 0) {
                vertx.cancelTimer(resolveTimer);
                resolveTimer = -1;
            }
            startResolving();
            return f;
        }
    }

    private Future<Void> swap(ProxyConfig newConfig) {
        Snapshot old = current.get();
        Snapshot next = build(newConfig, old.upstreams());
        current.set(next);
        Set<UpstreamClient> kept = new HashSet<>(next.upstreams().values());
        for (UpstreamClient c : old.upstreams().values()) {
            if (!kept.contains(c)) {
                health.unwatch(c.group());
            }
        }
        AtomicBoolean once = new AtomicBoolean();
        old.whenDrained(() -> {
            if (once.compareAndSet(false, true)) {
                for (UpstreamClient c : old.upstreams().values()) {
                    if (!kept.contains(c)) {
                        c.close();
                    }
                }
            }
        });
        List<Future<?>> work = new ArrayList<>();
        Set<ListenerConfig> wanted = new HashSet<>(newConfig.listeners());
        List<ListenerConfig> existing;
        synchronized (this) {
            existing = new ArrayList<>(servers.keySet());
        }
        for (ListenerConfig l : existing) {
            if (!wanted.contains(l)) {
                List<HttpServer> list;
                synchronized (this) {
                    list = servers.remove(l);
                    ports.remove(l);
                }
                for (HttpServer s : list) {
                    work.add(s.shutdown(Duration.ofSeconds(30)));
                }
            }
        }
        for (ListenerConfig l : newConfig.listeners()) {
            if (!existing.contains(l)) {
                work.add(bind(l));
            }
        }
        return Future.all(work).mapEmpty();
    }

    static List<String> systemResolve(String host) {
        try {
            List<String> out = new ArrayList<>();
            for (java.net.InetAddress a : java.net.InetAddress.getAllByName(host)) {
                out.add(a.getHostAddress());
            }
            return out;
        } catch (java.net.UnknownHostException e) {
            throw new IllegalStateException("unknown host", e);
        }
    }

    /** Stops accepting, lets in-flight requests finish until {@code deadline}, then closes everything. */
    public Future<Void> shutdown(Duration deadline) {
        synchronized (reloadLock) {
            if (resolveTimer >= 0) {
                vertx.cancelTimer(resolveTimer);
                resolveTimer = -1;
            }
        }
        List<Future<?>> closing = new ArrayList<>();
        synchronized (this) {
            for (List<HttpServer> list : servers.values()) {
                for (HttpServer s : list) {
                    closing.add(s.shutdown(deadline));
                }
            }
            servers.clear();
            ports.clear();
        }
        return Future.join(closing).eventually(() -> {
            List<Future<?>> clients = new ArrayList<>();
            Snapshot s = current.get();
            if (s != null) {
                for (UpstreamClient c : s.upstreams().values()) {
                    clients.add(c.close());
                }
            }
            accessLog.close();
            health.close();
            return Future.join(clients);
        }).mapEmpty();
    }
}
