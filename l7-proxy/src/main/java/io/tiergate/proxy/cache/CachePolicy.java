package io.tiergate.proxy.cache;

import io.netty.handler.codec.http.HttpHeaderNames;
import io.vertx.core.MultiMap;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * The rules of RFC 9111 for a shared cache, with RFC 9213 targeted fields and RFC 5861 stale-* extensions: what may
 * be stored (§3, §3.5), how long it is fresh (§4.2.1, §4.2.2), how old it is (§4.2.3), which stored response answers
 * a request (§4.1). Pure functions of headers and clock readings, so each rule is tested without a network.
 */
public final class CachePolicy {
    /** RFC 9110 §15.1: statuses whose responses are heuristically cacheable. */
    static final Set<Integer> HEURISTIC = Set.of(200, 203, 204, 206, 300, 301, 308, 404, 405, 410, 414, 501);
    /** Status codes this cache understands (for must-understand, RFC 9111 §5.2.2.3). */
    static final Set<Integer> UNDERSTOOD = Set.of(200, 201, 202, 203, 204, 205, 206, 300, 301, 302, 303, 304, 305,
            307, 308, 400, 401, 402, 403, 404, 405, 406, 407, 408, 409, 410, 411, 412, 413, 414, 415, 416, 417, 421,
            422, 426, 500, 501, 502, 503, 504, 505);
    /** RFC 9111 §3.1 / RFC 9110 §7.6.1: never stored, never forwarded from the store. */
    static final Set<String> HOP_BY_HOP = Set.of("connection", "keep-alive", "proxy-connection", "te",
            "transfer-encoding", "upgrade", "proxy-authenticate", "proxy-authorization", "trailer");

    private final CacheConfig config;

    public CachePolicy(CacheConfig config) {
        this.config = config;
    }

    public CacheConfig config() {
        return config;
    }

    /** The directives that govern a response: the first valid targeted field, else Cache-Control. */
    public Directives effective(MultiMap headers) {
        for (String field : config.targetedFields()) {
            Directives t = Directives.parseTargeted(headers.getAll(field));
            if (t != null) {
                return t;
            }
        }
        return Directives.parseCacheControl(headers.getAll("Cache-Control"));
    }

    /** {@link #effective(MultiMap)} of a stored response, parsed once per stored response. */
    public Directives effective(StoredResponse s) {
        Directives d = s.memo().directives;
        if (d == null) {
            d = effective(s.headers());
            s.memo().directives = d;
        }
        return d;
    }

    private boolean targeted(StoredResponse s) {
        Boolean t = s.memo().targeted;
        if (t == null) {
            t = targeted(s.headers());
            s.memo().targeted = t;
        }
        return t;
    }

    /** True when a valid targeted field governs this response (then Cache-Control and Expires are ignored). */
    public boolean targeted(MultiMap headers) {
        for (String field : config.targetedFields()) {
            if (Directives.parseTargeted(headers.getAll(field)) != null) {
                return true;
            }
        }
        return false;
    }

    /** Request directives; {@code Pragma: no-cache} counts only without Cache-Control (RFC 9111 §5.4). */
    public static Directives requestDirectives(MultiMap headers) {
        // most requests carry neither field: two lookups by a name whose hash is kept, and no list
        if (headers.contains(HttpHeaderNames.CACHE_CONTROL)) {
            return Directives.parseCacheControl(headers.getAll(HttpHeaderNames.CACHE_CONTROL));
        }
        if (headers.contains(HttpHeaderNames.PRAGMA)) {
            for (String p : headers.getAll(HttpHeaderNames.PRAGMA)) {
                if (p.toLowerCase(Locale.ROOT).contains("no-cache")) {
                    return Directives.parseCacheControl(List.of("no-cache"));
                }
            }
        }
        return Directives.NONE;
    }

    /** Why a response may not be stored (RFC 9111 §3), or null when it may. */
    public String notStorable(CacheRequest req, int status, MultiMap headers, long bodyLength, CacheRule rule) {
        if (!"GET".equals(req.method())) {
            return "method";
        }
        if (status < 200 || status == 206 || status == 304) {
            return "status";
        }
        if (bodyLength > config.maxObjectSize()) {
            return "too-large";
        }
        Directives reqCc = requestDirectives(req.headers());
        if (reqCc.has("no-store")) {
            return "request-no-store";
        }
        Directives cc = effective(headers);
        boolean mustUnderstand = cc.has("must-understand");
        if (mustUnderstand && !UNDERSTOOD.contains(status)) {
            return "must-understand";
        }
        if (cc.has("no-store") && !mustUnderstand) {
            return "no-store";
        }
        if (cc.has("private")) {
            return "private";
        }
        if (req.headers().contains("Authorization")
                && !(cc.has("must-revalidate") || cc.has("public") || cc.has("s-maxage"))) {
            return "authorization";
        }
        for (String v : varyNames(headers)) {
            if (v.equals("*")) {
                return "vary-star";
            }
        }
        boolean explicit = cc.has("max-age") || cc.has("s-maxage") || cc.has("public")
                || (!targeted(headers) && headers.contains("Expires"));
        if (!explicit && !HEURISTIC.contains(status)) {
            return "no-freshness";
        }
        return null;
    }

    /** Freshness lifetime in millis (RFC 9111 §4.2.1; heuristics §4.2.2), capped by the rule's max-ttl. */
    public long freshnessLifetime(StoredResponse s, CacheRule rule) {
        StoredResponse.Memo m = s.memo();
        if (m.lifeRule == rule) {
            return m.life;
        }
        long lifetime = rawFreshness(s, rule);
        if (!rule.maxTtl().isZero()) {
            lifetime = Math.min(lifetime, rule.maxTtl().toMillis());
        }
        m.life = lifetime;
        m.lifeRule = rule;
        return lifetime;
    }

    private long rawFreshness(StoredResponse s, CacheRule rule) {
        MultiMap h = s.headers();
        Directives cc = effective(s);
        if (cc.has("s-maxage")) {
            return cc.seconds("s-maxage").getAsLong() * 1000;
        }
        if (cc.has("max-age")) {
            return cc.seconds("max-age").getAsLong() * 1000;
        }
        long date = dateValue(s);
        if (!targeted(s) && h.contains("Expires")) {
            long expires = HttpDates.parse(h.get("Expires"));
            return expires < 0 ? 0 : Math.max(0, expires - date); // an invalid Expires means "already expired"
        }
        if (!(HEURISTIC.contains(s.status()) || cc.has("public"))) {
            return 0;
        }
        if (!rule.defaultTtl().isZero()) {
            return rule.defaultTtl().toMillis();
        }
        long lm = HttpDates.parse(s.lastModified());
        if (lm >= 0 && lm < date) {
            return Math.min((long) ((date - lm) * config.heuristicFraction()), config.maxHeuristic().toMillis());
        }
        return 0;
    }

    /** True when the response carries explicit freshness (no heuristics involved). */
    public boolean heuristic(StoredResponse s) {
        Directives cc = effective(s);
        return !(cc.has("s-maxage") || cc.has("max-age") || (!targeted(s) && s.headers().contains("Expires")));
    }

    /** The Date of the response, or when it was received if it has none (or an invalid one). */
    static long dateValue(StoredResponse s) {
        long d = s.memo().date;
        if (d == Long.MIN_VALUE) {
            d = HttpDates.parse(s.headers().get("Date"));
            d = d < 0 ? s.responseTime() : d;
            s.memo().date = d;
        }
        return d;
    }

    /** current_age of RFC 9111 §4.2.3, in millis. */
    public static long currentAge(StoredResponse s, long now) {
        long apparentAge = Math.max(0, s.responseTime() - dateValue(s));
        long responseDelay = Math.max(0, s.responseTime() - s.requestTime());
        long correctedAgeValue = ageValue(s.headers()) * 1000 + responseDelay;
        long correctedInitialAge = Math.max(apparentAge, correctedAgeValue);
        long residentTime = Math.max(0, now - s.responseTime());
        return correctedInitialAge + residentTime;
    }

    /**
     * The incoming Age in seconds. Only the first value counts; a fractional value keeps its integer part (the
     * response did travel that long); anything else that is not a non-negative integer is ignored.
     */
    static long ageValue(MultiMap headers) {
        String a = headers.get(HttpHeaderNames.AGE);
        if (a == null) {
            return 0;
        }
        String v = a.split(",", 2)[0].trim();
        int dot = v.indexOf('.');
        if (dot > 0 && v.substring(dot + 1).chars().allMatch(Character::isDigit)) {
            v = v.substring(0, dot);
        }
        return Directives.deltaSeconds(v, 0);
    }

    /** Serving stale is forbidden (must-revalidate, proxy-revalidate, and s-maxage for shared caches). */
    public boolean mustRevalidate(StoredResponse s) {
        Directives cc = effective(s);
        return cc.has("must-revalidate") || cc.has("proxy-revalidate") || cc.has("s-maxage");
    }

    /** Response no-cache: may be stored, never served without validation. */
    public boolean noCache(StoredResponse s) {
        return effective(s).has("no-cache");
    }

    public static List<String> varyNames(MultiMap headers) {
        List<String> out = new ArrayList<>();
        for (String line : headers.getAll("Vary")) {
            for (String n : line.split(",")) {
                String t = n.trim().toLowerCase(Locale.ROOT);
                if (!t.isEmpty() && !out.contains(t)) {
                    out.add(t);
                }
            }
        }
        return out;
    }

    /** The selecting values of a request for the given Vary names (RFC 9111 §4.1), normalised. */
    public static Map<String, String> varyValues(List<String> names, MultiMap requestHeaders) {
        if (names.isEmpty()) {
            return Map.of(); // no Vary: every request selects the variant (this runs on every lookup)
        }
        Map<String, String> out = new LinkedHashMap<>();
        for (String n : names) {
            out.put(n, normalise(n, requestHeaders.getAll(n)));
        }
        return out;
    }

    /**
     * Combines field lines and drops optional whitespace; Accept-Encoding is reduced to the sorted set of acceptable
     * codings so that "gzip, br" and "br,gzip" share a variant (identical semantics, RFC 9111 §4.1 allows this).
     */
    static String normalise(String name, List<String> values) {
        if (values.isEmpty()) {
            return "";
        }
        String joined = String.join(",", values);
        if (name.equals("accept-encoding")) {
            List<String> codings = new ArrayList<>();
            for (String part : joined.split(",")) {
                String[] p = part.split(";");
                String coding = p[0].trim().toLowerCase(Locale.ROOT);
                double q = 1.0;
                for (int i = 1; i < p.length; i++) {
                    String param = p[i].trim().toLowerCase(Locale.ROOT);
                    if (param.startsWith("q=")) {
                        try {
                            q = Double.parseDouble(param.substring(2));
                        } catch (NumberFormatException e) {
                            q = 0;
                        }
                    }
                }
                if (!coding.isEmpty() && q > 0 && !codings.contains(coding)) {
                    codings.add(coding);
                }
            }
            codings.sort(null);
            return String.join(",", codings);
        }
        StringBuilder sb = new StringBuilder();
        for (String part : joined.split(",")) {
            if (sb.length() > 0) {
                sb.append(',');
            }
            sb.append(part.trim().replaceAll("\\s+", " "));
        }
        return sb.toString();
    }

    /** Copy of {@code headers} without hop-by-hop fields and the fields the Connection header names. */
    public static MultiMap storableHeaders(MultiMap headers) {
        MultiMap out = MultiMap.caseInsensitiveMultiMap();
        List<String> named = new ArrayList<>();
        for (String line : headers.getAll("Connection")) {
            for (String n : line.split(",")) {
                named.add(n.trim().toLowerCase(Locale.ROOT));
            }
        }
        for (Map.Entry<String, String> e : headers.entries()) {
            String n = e.getKey().toLowerCase(Locale.ROOT);
            if (!HOP_BY_HOP.contains(n) && !named.contains(n)) {
                out.add(e.getKey(), e.getValue());
            }
        }
        return out;
    }
}
