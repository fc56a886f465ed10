package io.tiergate.proxy.log;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.Timer;
import io.tiergate.proxy.cache.CacheFilter;
import io.tiergate.proxy.cache.HttpCache;
import io.tiergate.proxy.config.LocationConfig;
import io.tiergate.proxy.config.ProxyConfig;
import io.tiergate.proxy.config.UpstreamConfig;
import io.tiergate.proxy.config.VirtualServerConfig;
import io.tiergate.proxy.config.RetryCondition;
import io.tiergate.proxy.upstream.Peer;
import io.tiergate.proxy.upstream.UpstreamGroup;
import io.tiergate.shared.metrics.GaugeRows;
import io.tiergate.shared.metrics.ReloadMetrics;

import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import java.util.concurrent.TimeUnit;
import java.util.function.DoubleSupplier;
import java.util.function.Supplier;
import java.util.function.ToLongFunction;

/**
 * The proxy's Prometheus meters (every one is listed in docs/metrics.md). Counters end in {@code _total}, durations
 * are in seconds with the bucket set of the registry's meter filter (top-level {@code metrics.latency_buckets}), and
 * the series of every configured route, upstream and upstream server exist from start (and from the reload that adds
 * them) at 0, so {@code rate()} and alerts work before the first request.
 *
 * <p>Meters are looked up once per tag combination and cached: building and registering them on every request cost
 * more than the forwarding.
 */
public final class ProxyMetrics {
    /** The status classes pre-registered per route (1xx is never the final status of a proxied request). */
    private static final int[] STATUS_CLASSES = {2, 3, 4, 5};

    private final MeterRegistry registry;
    private final ConcurrentMap<RequestKey, Counter> requests = new ConcurrentHashMap<>();
    private final ConcurrentMap<RouteKey, Timer> durations = new ConcurrentHashMap<>();
    private final ConcurrentMap<RouteKey, Counter> retries = new ConcurrentHashMap<>();
    private final ConcurrentMap<RouteKey, Counter> refused = new ConcurrentHashMap<>();
    private final ConcurrentMap<RouteKey, Counter> ejections = new ConcurrentHashMap<>();
    private final GaugeRows serverUp;
    private final ReloadMetrics reloads;
    private Supplier<HttpCache> cacheStore;

    private record RouteKey(String a, String b) {
    }

    private record RequestKey(String route, String upstream, int statusClass) {
    }

    public ProxyMetrics(MeterRegistry registry) {
        this.registry = registry;
        this.serverUp = new GaugeRows(registry, "tiergate_proxy_upstream_server_up",
                "1 when the upstream server is in rotation (passive max_fails and active health checks agree), 0 while"
                        + " it is ejected or down");
        this.reloads = new ReloadMetrics(registry);
    }

    public MeterRegistry registry() {
        return registry;
    }

    public ReloadMetrics reloads() {
        return reloads;
    }

    public void request(String route, String upstream, int status, long nanos) {
        RouteMeters m = routeMeters(route, upstream);
        int statusClass = status / 100;
        if (statusClass < 0 || statusClass >= m.byClass.length) {
            requestCounter(route, upstream, statusClass).increment();
        } else {
            Counter c = m.byClass[statusClass];
            if (c == null) {
                c = requestCounter(route, upstream, statusClass); // the same counter on every thread: a benign race
                m.byClass[statusClass] = c;
            }
            c.increment();
        }
        m.duration.record(nanos, TimeUnit.NANOSECONDS);
    }

    /**
     * The meters of one route and upstream, found without allocating a key: this runs once per request, and a record
     * key per lookup (plus its hash) showed in the profile.
     */
    private static final class RouteMeters {
        final Counter[] byClass = new Counter[6];
        final Timer duration;

        RouteMeters(Timer duration) {
            this.duration = duration;
        }
    }

    private final ConcurrentMap<String, ConcurrentMap<String, RouteMeters>> meters = new ConcurrentHashMap<>();

    private RouteMeters routeMeters(String route, String upstream) {
        ConcurrentMap<String, RouteMeters> byUpstream = meters.get(route);
        if (byUpstream == null) {
            byUpstream = meters.computeIfAbsent(route, k -> new ConcurrentHashMap<>());
        }
        RouteMeters m = byUpstream.get(upstream);
        if (m == null) {
            m = byUpstream.computeIfAbsent(upstream, u -> new RouteMeters(duration(route, u)));
        }
        return m;
    }

    private Counter requestCounter(String route, String upstream, int statusClass) {
        return requests.computeIfAbsent(new RequestKey(route, upstream, statusClass), k ->
                Counter.builder("tiergate_proxy_requests").description("Requests answered, by route and status class")
                        .tag("route", k.route()).tag("upstream", k.upstream())
                        .tag("status_class", k.statusClass() + "xx")
                        .register(registry));
    }

    private Timer duration(String route, String upstream) {
        return durations.computeIfAbsent(new RouteKey(route, upstream), k ->
                Timer.builder("tiergate_proxy_request_duration")
                        .description("Time from the request head to the end of the response")
                        .tag("route", k.a()).tag("upstream", k.b())
                        .register(registry));
    }

    public void retry(String upstream, String reason) {
        retryCounter(upstream, reason).increment();
    }

    private Counter retryCounter(String upstream, String reason) {
        return retries.computeIfAbsent(new RouteKey(upstream, reason), k ->
                Counter.builder("tiergate_proxy_retries").description("Attempts re-sent to another server, by reason")
                        .tag("upstream", k.a()).tag("reason", k.b()).register(registry));
    }

    public void retryRefused(String upstream, String why) {
        refusedCounter(upstream, why).increment();
    }

    private Counter refusedCounter(String upstream, String why) {
        return refused.computeIfAbsent(new RouteKey(upstream, why), k ->
                Counter.builder("tiergate_proxy_retries_refused").description("Retries not made, by reason")
                        .tag("upstream", k.a()).tag("why", k.b()).register(registry));
    }

    public void ejection(String upstream, String server) {
        ejectionCounter(upstream, server).increment();
    }

    private Counter ejectionCounter(String upstream, String server) {
        return ejections.computeIfAbsent(new RouteKey(upstream, server), k ->
                Counter.builder("tiergate_proxy_upstream_ejections")
                        .description("Times the server was taken out of rotation (passive max_fails or active health"
                                + " checks)")
                        .tag("upstream", k.a()).tag("server", k.b()).register(registry));
    }

    /**
     * Pre-registers the series of a config's routes and upstream servers (at 0) and points the upstream health gauge
     * at the groups now serving. Called at start and after every reload; series of removed routes stay at their last
     * value (a counter must not go backwards when a route comes back).
     */
    public void configured(ProxyConfig config, Collection<UpstreamGroup> groups) {
        for (VirtualServerConfig vs : config.servers()) {
            for (LocationConfig l : vs.locations()) {
                String upstream = l.upstream() == null ? "-" : l.upstream();
                for (int c : STATUS_CLASSES) {
                    requestCounter(l.label(), upstream, c);
                }
                duration(l.label(), upstream);
            }
        }
        for (UpstreamConfig u : config.upstreams().values()) {
            for (RetryCondition c : RetryCondition.values()) {
                retryCounter(u.name(), c.configName());
            }
            for (String why : io.tiergate.proxy.retry.RetryDecision.REFUSALS) {
                refusedCounter(u.name(), why);
            }
        }
        Map<Tags, DoubleSupplier> rows = new LinkedHashMap<>();
        for (UpstreamGroup g : groups) {
            for (Peer p : g.peers()) {
                ejectionCounter(g.name(), p.key());
                rows.put(Tags.of("upstream", g.name(), "server", p.key()), () -> p.up() ? 1 : 0);
            }
        }
        serverUp.set(rows);
    }

    /** The node's HTTP cache, created on first use: its series read 0 until then. */
    public void cache(Supplier<CacheFilter> cache) {
        Supplier<HttpCache> store = () -> {
            CacheFilter c = cache.get();
            return c == null ? null : c.store();
        };
        cacheStore = store; // Micrometer holds a function counter's object weakly: this field keeps it
        counter("tiergate_proxy_cache_hits", "Responses served from the cache (fresh, or stale where allowed)",
                store, HttpCache::hits);
        counter("tiergate_proxy_cache_misses", "Cacheable requests that went to the upstream", store,
                HttpCache::misses);
        counter("tiergate_proxy_cache_stores", "Responses written to the cache", store, HttpCache::stores);
        counter("tiergate_proxy_cache_evictions", "Entries evicted to stay within cache.max_size", store,
                HttpCache::evictions);
        Gauge.builder("tiergate_proxy_cache_size_bytes", store, s -> s.get() == null ? 0 : s.get().weightedSize())
                .description("Bytes held by the cache (bodies, headers and per-entry overhead)")
                .baseUnit("bytes").strongReference(true).register(registry);
        Gauge.builder("tiergate_proxy_cache_max_size_bytes", store,
                        s -> s.get() == null ? 0 : s.get().maxWeight())
                .description("cache.max_size").strongReference(true).register(registry);
        Gauge.builder("tiergate_proxy_cache_entries", store, s -> s.get() == null ? 0 : s.get().keyCount())
                .description("Cache keys stored (each may hold several Vary variants)").strongReference(true)
                .register(registry);
    }

    /** The access log's dropped lines (its queue full: the file could not keep up with the requests). */
    public void accessLog(AccessLog accessLog) {
        FunctionCounter.builder("tiergate_proxy_access_log_dropped", accessLog, AccessLog::dropped)
                .description("Access log lines dropped because the writer could not keep up (its queue was full)")
                .register(registry); // held weakly: the node keeps its access log for as long as it runs
    }

    private void counter(String name, String help, Supplier<HttpCache> store, ToLongFunction<HttpCache> f) {
        FunctionCounter.builder(name, store, s -> s.get() == null ? 0 : f.applyAsLong(s.get()))
                .description(help).register(registry);
    }
}
