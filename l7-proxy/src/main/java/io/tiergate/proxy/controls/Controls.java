package io.tiergate.proxy.controls;

import io.tiergate.proxy.access.AccessRules;
import io.tiergate.proxy.auth.BasicAuth;
import io.tiergate.proxy.auth.ExtAuth;
import io.tiergate.proxy.limit.LimitConn;
import io.tiergate.proxy.limit.LimitReq;
import io.tiergate.proxy.limit.Zones;
import io.tiergate.shared.config.ConfigMap;
import io.tiergate.shared.config.ConfigNode;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.function.BiFunction;

/**
 * The front-door controls of a server or location: {@code limit_req}, {@code limit_conn}, {@code access}
 * (allow/deny), {@code auth_basic}, {@code auth_request}, {@code max_body_size} and upstream {@code timeouts}. As in nginx, a location inherits each of them from its
 * server unless it sets that key itself (then the location's value replaces the server's, it is not added to it).
 * {@code maxBodySize} -1: the global {@code limits.max_body_size}.
 */
public record Controls(List<LimitReq> limitReq, List<LimitConn> limitConn, AccessRules access, BasicAuth basicAuth,
                       ExtAuth extAuth, long maxBodySize, UpstreamTimeouts timeouts) {
    public static final Controls NONE = new Controls(List.of(), List.of(), AccessRules.NONE, BasicAuth.OFF,
            ExtAuth.OFF, -1, UpstreamTimeouts.INHERIT);

    public Controls {
        limitReq = List.copyOf(limitReq);
        limitConn = List.copyOf(limitConn);
    }

    public boolean none() {
        return limitReq.isEmpty() && limitConn.isEmpty() && access.rules().isEmpty() && !basicAuth.on()
                && !extAuth.on();
    }

    /** The keys of {@code m} (a server or location mapping) over {@code inherited}. */
    public static Controls parse(ConfigMap m, Controls inherited, Zones zones, Set<String> upstreams) {
        List<LimitReq> req = m.has("limit_req") ? items(m, "limit_req", zones, LimitReq::parse) : inherited.limitReq();
        List<LimitConn> conn = m.has("limit_conn") ? items(m, "limit_conn", zones, LimitConn::parse)
                : inherited.limitConn();
        AccessRules access = m.has("access") ? AccessRules.parse(m, "access") : inherited.access();
        BasicAuth auth = inherited.basicAuth();
        if (m.has("auth_basic")) {
            auth = BasicAuth.parse(m, "auth_basic");
            auth = auth == null ? BasicAuth.OFF : auth;
        }
        ExtAuth ext = inherited.extAuth();
        if (m.has("auth_request")) {
            ext = ExtAuth.parse(m, "auth_request", upstreams);
            ext = ext == null ? ExtAuth.OFF : ext;
        }
        long body = inherited.maxBodySize();
        if (m.has("max_body_size")) {
            body = m.size("max_body_size", body);
        }
        UpstreamTimeouts timeouts = m.has("timeouts") ? UpstreamTimeouts.parse(m, "timeouts", inherited.timeouts())
                : inherited.timeouts();
        Controls c = new Controls(req, conn, access, auth, ext, body, timeouts);
        return c.equals(NONE) ? NONE : c;
    }

    /** {@code key: [{...}, ...]} or a single mapping; {@code key: off} clears an inherited list. */
    private static <T> List<T> items(ConfigMap m, String key, Zones zones, BiFunction<ConfigMap, Zones, T> f) {
        List<T> out = new ArrayList<>();
        for (ConfigNode n : m.list(key)) {
            if (n instanceof ConfigNode.Scalar s && "off".equals(s.text())) {
                continue;
            }
            ConfigMap item = ConfigMap.of(n, m.problems());
            T t = f.apply(item, zones);
            item.finish();
            if (t != null) {
                out.add(t);
            }
        }
        return out;
    }
}
