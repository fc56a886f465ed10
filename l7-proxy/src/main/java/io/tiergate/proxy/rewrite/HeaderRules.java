package io.tiergate.proxy.rewrite;

import io.tiergate.shared.config.ConfigMap;
import io.tiergate.shared.config.ConfigNode;
import io.vertx.core.MultiMap;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/** set / add / remove of header fields, with variables in the values. Applied in that order: remove, set, add. */
public record HeaderRules(List<String> remove, Map<String, Template> set, Map<String, Template> add) {
    public static final HeaderRules NONE = new HeaderRules(List.of(), Map.of(), Map.of());

    public static HeaderRules parse(ConfigMap m) {
        List<String> remove = m.stringList("remove", List.of());
        Map<String, Template> set = templates(m, "set");
        Map<String, Template> add = templates(m, "add");
        m.finish();
        return new HeaderRules(remove, set, add);
    }

    private static Map<String, Template> templates(ConfigMap m, String key) {
        Map<String, Template> out = new java.util.LinkedHashMap<>();
        var node = m.raw(key);
        if (node.isEmpty()) {
            return out;
        }
        if (!(node.get() instanceof ConfigNode.Mapping map)) {
            m.error(key, "is " + node.get().kind(), "a mapping of Header-Name: value");
            return out;
        }
        for (Map.Entry<String, ConfigNode> e : map.entries().entrySet()) {
            if (!(e.getValue() instanceof ConfigNode.Scalar s)) {
                m.problems().add(e.getValue(), "is " + e.getValue().kind(), "a header value");
                continue;
            }
            if (!e.getKey().matches("[!#$%&'*+.^_`|~0-9A-Za-z-]+")) {
                m.problems().add(e.getValue(), "'" + e.getKey() + "' is not a valid header name", "a token");
                continue;
            }
            try {
                out.put(e.getKey(), Template.parse(s.text()));
            } catch (IllegalArgumentException ex) {
                m.problems().add(s, ex.getMessage(), "variables among $" + String.join(", $", Template.VARIABLES));
            }
        }
        return out;
    }

    public boolean isEmpty() {
        return remove.isEmpty() && set.isEmpty() && add.isEmpty();
    }

    public void apply(MultiMap headers, RequestContext ctx) {
        for (String r : remove) {
            headers.remove(r);
        }
        set.forEach((n, t) -> headers.set(n, t.expand(ctx, null)));
        List<String> names = new ArrayList<>(add.keySet());
        for (String n : names) {
            headers.add(n, add.get(n).expand(ctx, null));
        }
    }
}
