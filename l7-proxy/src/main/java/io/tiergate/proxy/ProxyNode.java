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
import io.tiergate.proxy.tls.Certificates;

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
    /** Digest of each TLS listener's PEM files as last loaded: a renewal at the same paths changes it. */
    private final Map<ListenerConfig, String> tlsDigests = new java.util.concurrent.ConcurrentHashMap<>();
    /** Each TLS listener's session ticket key files, by listener name: read by its TLS engine at every reload. */
    private final Map<String, java.util.concurrent.atomic.AtomicReference<List<java.nio.file.Path>>> ticketKeys =
            new java.util.concurrent.ConcurrentHashMap<>();
    private final ProxyMetrics metrics;
    private final AccessLog accessLog;
    private final ProxyHandler handler;
    private final int eventLoops;
    private final ActiveHealth health;
    private final Function<String, List<String>> resolver;
    private final Object reloadLock = new Object();
    private final io.tiergate.shared.admin.EventLog events = new io.tiergate.shared.admin.EventLog();
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
        this.eventLoops = io.tiergate.shared.runtime.Runtimes.eventLoops();
        this.health = new ActiveHealth(vertx, metrics);
        metrics.cache(handler::cacheIfCreated);
        metrics.accessLog(accessLog);
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
        node.metrics.configured(config, node.groups());
        node.startResolving();
        List<Future<?>> binds = new ArrayList<>();
        for (ListenerConfig l : config.listeners()) {
            binds.add(node.bind(l));
        }
        node.events.info("start", "proxy node " + config.nodeName() + " started: " + config.listeners().size()
                + " listener(s), " + config.upstreams().size() + " upstream(s)");
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

    /** Health flips, ejections, reloads and admin actions, for the status page. */
    public io.tiergate.shared.admin.EventLog events() {
        return events;
    }

    /** Every upstream group of the running config, by name (sorted), for the status page. */
    public java.util.SortedMap<String, UpstreamGroup> upstreams() {
        java.util.SortedMap<String, UpstreamGroup> out = new java.util.TreeMap<>();
        current.get().upstreams().forEach((n, c) -> out.put(n, c.group()));
        return out;
    }

    /** The peers of an upstream group as currently known, for status pages and tests. */
    public UpstreamGroup upstream(String name) {
        UpstreamClient c = current.get().upstreams().get(name);
        return c == null ? null : c.group();
    }

    private List<UpstreamGroup> groups() {
        return current.get().upstreams().values().stream().map(UpstreamClient::group).toList();
    }

    /** Config reload counters and the last-reload timestamp (tiergate_config_*). */
    public io.tiergate.shared.metrics.ReloadMetrics reloads() {
        return metrics.reloads();
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
                g.events(events);
                if (old != null) {
                    // An operator's drain outlives a reload that changes the upstream: same server, still drained.
                    for (io.tiergate.proxy.upstream.Peer p : g.peers()) {
                        io.tiergate.proxy.upstream.Peer was = old.group().peer(p.key());
                        p.setDrained(was != null && was.drained());
                    }
                }
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
            if (l.tls() != null) {
                try {
                    tlsDigests.put(l, Certificates.digest(l.tls()));
                } catch (java.io.IOException e) {
                    log.warn("listener '{}': {}; a renewal will be picked up once it is readable", l.name(),
                            e.getMessage());
                }
            }
        }).recover(t -> Future.failedFuture(new IllegalStateException(
                "cannot listen on " + l.address() + ": " + t.getMessage(), t)));
    }

    private Future<HttpServer> listen(ListenerConfig l, ProxyConfig c, int port) {
        HttpServerOptions o = new HttpServerOptions()
                .setMaxInitialLineLength(c.limits().maxUriLength() + 64)
                .setMaxHeaderSize(c.limits().maxHeaderSize())
                // A backstop only: ConnectionGuard enforces header, keep-alive and send timeouts (and takes this one
                // out of HTTP/1.x connections), Body the body timeout. HTTP/2 connections and handshakes keep it.
                .setIdleTimeout((int) (Math.max(c.timeouts().keepalive().toSeconds(),
                        c.timeouts().upstreamRead().toSeconds()) + 30))
                .setHandle100ContinueAutomatically(false)
                // Every response is written on its connection's event loop, so Vert.x can write straight to the
                // channel instead of through a cross-thread queue: ~0.7 KB less per open connection.
                .setStrictThreadMode(true)
                .setHttp2ClearTextEnabled(l.h2c())
                .setTcpNoDelay(true);
        if (l.tls() != null) {
            io.vertx.core.net.ServerSSLOptions ssl = Certificates.sslOptions(l.tls());
            o.setSsl(true).setSni(true).setKeyCertOptions(ssl.getKeyCertOptions())
                    .setClientAuth(ssl.getClientAuth()).setTrustOptions(ssl.getTrustOptions())
                    .setSslEngineOptions(io.tiergate.proxy.tls.TlsEngine.server(l.name(), ticketKeys(l)::get));
            if (l.tls().http2()) {
                o.setUseAlpn(true).setAlpnVersions(List.of(HttpVersion.HTTP_2, HttpVersion.HTTP_1_1));
            }
        }
        ListenerConfig.ProxyProtocol pp = l.proxyProtocol();
        // Where the hook enforces something at accept (the PROXY trust check, max_connections), a connection it did
        // not see (accepted between the bind and the install) is refused. Elsewhere such a connection is served: it
        // only missed the accept-time start of client_header, which ConnectionGuard arms below anyway; refusing it
        // broke the first requests to a freshly started node that the director already sent traffic to.
        boolean strict = pp != null || l.maxConnections() > 0;
        WebSocketExtensions wsExtensions = new WebSocketExtensions(o);
        return vertx.createHttpServer(o)
                .connectionHandler(conn -> {
                    // AcceptHook refused untrusted peers and armed the client_header deadline at accept; this runs on
                    // the connection's event loop once Vert.x has chosen the protocol (on an h2c listener, with the
                    // first HTTP/1.x request head already read).
                    if (strict && !AcceptHook.admit(conn) || pp != null && !ProxyProtocol.accepted(conn, pp)) {
                        return;
                    }
                    ProxyConfig.Timeouts t = current.get().config().timeouts();
                    ConnectionGuard.install(conn, t.clientHeader(), t.keepalive(), t.clientSend(), l.h2c(), wsExtensions);
                })
                .requestHandler(req -> {
                    // Belt and braces: never serve a connection the accept-time checks did not pass (admitted implies
                    // hooked: only the hook installs the PROXY decoder).
                    if (pp != null ? !ProxyProtocol.admitted(req, pp) : strict && !AcceptHook.hooked(req)) {
                        ProxyProtocol.refuse(req);
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
            if (!newConfig.accessLog().equals(current.get().config().accessLog())) {
                accessLog.reconfigure(newConfig.accessLog());
            }
            Future<Void> f = swap(newConfig).onComplete(ar -> {
                if (ar.succeeded()) {
                    events.info("reload", "config reloaded: " + newConfig.listeners().size() + " listener(s), "
                            + newConfig.upstreams().size() + " upstream(s)");
                } else {
                    events.error("reload", "reload incomplete: " + ar.cause().getMessage());
                }
            });
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
        metrics.configured(newConfig, groups());
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
        List<ListenerConfig> recertified = new ArrayList<>();
        for (ListenerConfig l : existing) {
            ListenerConfig same = wanted.contains(l) ? null : sameSocketNewCertificates(l, newConfig.listeners());
            if (same != null) {
                // Only the certificate files changed: keep the sockets and their connections, load the new pair
                // below (as for a renewal in place) instead of closing and rebinding the port.
                synchronized (this) {
                    Map<ListenerConfig, List<HttpServer>> reordered = new LinkedHashMap<>();
                    servers.forEach((k, v) -> reordered.put(k.equals(l) ? same : k, v));
                    servers.clear();
                    servers.putAll(reordered);
                    ports.put(same, ports.remove(l));
                }
                tlsDigests.remove(l);
                ticketKeys(same); // other key files: the engine reads them with the certificates, below
                io.tiergate.proxy.tls.TlsEngine.warnIfIgnored(same.name(), same.tls().ticketKeys());
                recertified.add(same);
                continue;
            }
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
            if (!existing.contains(l) && !recertified.contains(l)) {
                work.add(bind(l));
            }
        }
        if (!recertified.isEmpty()) {
            // A pair that cannot be loaded keeps the old certificate; the caller's reloadCertificates() says why.
            work.add(reloadCertificates().otherwiseEmpty());
        }
        return Future.all(work).mapEmpty();
    }

    /** The holder of {@code l}'s session ticket key files, now set to the ones {@code l} names. */
    private java.util.concurrent.atomic.AtomicReference<List<java.nio.file.Path>> ticketKeys(ListenerConfig l) {
        java.util.concurrent.atomic.AtomicReference<List<java.nio.file.Path>> r = ticketKeys.computeIfAbsent(l.name(),
                k -> new java.util.concurrent.atomic.AtomicReference<>(List.of()));
        r.set(l.tls().ticketKeys());
        return r;
    }

    /**
     * The listener of {@code wanted} that is {@code l} with other certificate (or ticket key) files (same name,
     * address, PROXY protocol and ALPN), or null.
     */
    private static ListenerConfig sameSocketNewCertificates(ListenerConfig l, List<ListenerConfig> wanted) {
        if (l.tls() == null) {
            return null;
        }
        for (ListenerConfig w : wanted) {
            if (w.tls() != null && w.name().equals(l.name()) && w.address().equals(l.address())
                    && java.util.Objects.equals(w.proxyProtocol(), l.proxyProtocol()) && w.h2c() == l.h2c()
                    && w.tls().http2() == l.tls().http2()) {
                return w;
            }
        }
        return null;
    }

    /**
     * Loads the certificates of every TLS listener whose PEM files changed since they were last loaded (a renewal
     * written at the same paths): handshakes from now on get the new certificate, connections already open keep the
     * one they negotiated. A pair that does not fit (key of another certificate, half-written file) is not loaded:
     * the listener keeps serving the old one, and the next check tries again. Returns one line per listener changed.
     * Reads files: never called on an event loop.
     */
    public Future<List<String>> reloadCertificates() {
        List<Map.Entry<ListenerConfig, List<HttpServer>>> tls = new ArrayList<>();
        synchronized (this) {
            for (Map.Entry<ListenerConfig, List<HttpServer>> e : servers.entrySet()) {
                if (e.getKey().tls() != null && ports.containsKey(e.getKey())) {
                    tls.add(Map.entry(e.getKey(), List.copyOf(e.getValue())));
                }
            }
        }
        List<Future<String>> done = new ArrayList<>();
        for (Map.Entry<ListenerConfig, List<HttpServer>> e : tls) {
            ListenerConfig l = e.getKey();
            String digest;
            try {
                digest = Certificates.digest(l.tls());
            } catch (java.io.IOException ex) {
                done.add(Future.failedFuture("listener '" + l.name() + "': " + ex.getMessage()));
                continue;
            }
            if (digest.equals(tlsDigests.get(l))) {
                continue;
            }
            List<String> bad = new ArrayList<>();
            for (ListenerConfig.KeyPair kp : l.tls().certificates()) {
                Certificates.problem(kp.cert(), kp.key()).ifPresent(bad::add);
            }
            for (java.nio.file.Path k : l.tls().ticketKeys()) {
                io.tiergate.proxy.tls.TlsEngine.ticketKeyProblem(k).ifPresent(bad::add);
            }
            if (!bad.isEmpty()) {
                done.add(Future.failedFuture("listener '" + l.name() + "': " + String.join("; ", bad)
                        + "; still serving the previous certificate"));
                continue;
            }
            List<Future<Boolean>> updates = new ArrayList<>();
            for (HttpServer s : e.getValue()) {
                // force: the options name the same files, only their contents changed
                updates.add(s.updateSSLOptions(Certificates.sslOptions(l.tls()), true));
            }
            done.add(Future.all(updates).map(x -> {
                tlsDigests.put(l, digest);
                return "tls certificate of listener '" + l.name() + "' ("
                        + l.tls().certificates().get(0).cert() + (l.tls().certificates().size() > 1 ? ", ..." : "")
                        + ")";
            }).recover(t -> Future.failedFuture("listener '" + l.name() + "': new certificate not loaded: "
                    + t.getMessage())));
        }
        for (UpstreamClient u : current.get().upstreams().values()) {
            done.add(u.reloadTlsIfChanged());
        }
        return Future.join(done).transform(ar -> {
            List<String> changed = new ArrayList<>();
            List<String> failed = new ArrayList<>();
            for (Future<String> f : done) {
                if (f.succeeded()) {
                    if (f.result() != null) {
                        changed.add(f.result());
                    }
                } else {
                    failed.add(f.cause().getMessage());
                }
            }
            return failed.isEmpty() ? Future.succeededFuture(changed)
                    : Future.failedFuture(new CertificateReloadException(changed, failed));
        });
    }

    /** Some listeners' new certificates could not be loaded; {@code loaded} lists those that were. */
    public static final class CertificateReloadException extends RuntimeException {
        private static final long serialVersionUID = 1L;
        private final transient List<String> loaded;

        CertificateReloadException(List<String> loaded, List<String> failed) {
            super(String.join("; ", failed));
            this.loaded = List.copyOf(loaded);
        }

        public List<String> loaded() {
            return loaded;
        }
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

    /** SIGUSR1: reopen the access log file (after logrotate moved it); a no-op for stdout or an access log that is off. */
    public void reopenLogs() {
        accessLog.reopen();
    }
}
