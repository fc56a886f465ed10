package io.tiergate.proxy.access;

import io.tiergate.proxy.config.Cidr;
import io.tiergate.shared.config.ConfigMap;
import io.tiergate.shared.config.ConfigNode;

import java.util.ArrayList;
import java.util.List;

/**
 * nginx's {@code allow}/{@code deny}: rules checked in order against the client address, the first match decides;
 * no match allows (as in nginx, end the list with {@code deny: all} for an allow-list). Written
 * {@code access: [{allow: 10.0.0.0/8}, {allow: "::1"}, {deny: all}]}; {@code access: off} drops inherited rules.
 */
public record AccessRules(List<Rule> rules) {
    public static final AccessRules NONE = new AccessRules(List.of());

    /** {@code block} null means {@code all}. */
    public record Rule(boolean allow, Cidr block) {
        boolean matches(String ip) {
            return block == null || block.contains(ip);
        }

        @Override
        public String toString() {
            return (allow ? "allow " : "deny ") + (block == null ? "all" : block.text());
        }
    }

    public AccessRules {
        rules = List.copyOf(rules);
    }

    /** The rule that decides for {@code ip}, or null when none matches (allowed). */
    public Rule decide(String ip) {
        for (Rule r : rules) {
            if (r.matches(ip)) {
                return r;
            }
        }
        return null;
    }

    /** Parses the list under {@code key}; problems are recorded at the offending item. */
    public static AccessRules parse(ConfigMap m, String key) {
        List<Rule> out = new ArrayList<>();
        for (ConfigNode item : m.list(key)) {
            if (item instanceof ConfigNode.Scalar s && "off".equals(s.text())) {
                continue; // "access: off": no rules here (drops the server's)
            }
            if (!(item instanceof ConfigNode.Mapping mapping) || mapping.entries().size() != 1
                    || !(mapping.entries().containsKey("allow") || mapping.entries().containsKey("deny"))) {
                m.problems().add(item, "an access rule is one of {allow: CIDR} or {deny: CIDR}",
                        "e.g. {allow: 10.0.0.0/8}, {allow: \"2001:db8::/32\"}, {deny: all}");
                continue;
            }
            ConfigMap r = ConfigMap.of(item, m.problems());
            boolean allow = r.has("allow");
            String k = allow ? "allow" : "deny";
            String text = r.string(k, "").trim();
            if (text.equals("all")) {
                out.add(new Rule(allow, null));
            } else {
                try {
                    out.add(new Rule(allow, Cidr.parse(text)));
                } catch (IllegalArgumentException e) {
                    r.error(k, e.getMessage(), "an address, a CIDR block (IPv4 or IPv6) or all");
                }
            }
            r.finish();
        }
        return out.isEmpty() ? NONE : new AccessRules(out);
    }
}
