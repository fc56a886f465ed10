package io.tiergate.director.ha;

import io.tiergate.shared.config.ConfigMap;
import io.tiergate.shared.config.ConfigNode;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * keepalived's {@code track_interface} and {@code track_script} for the {@code vrrp:} section. Weight semantics as
 * keepalived has them: a positive weight is added to the priority while the tracked thing is fine, a negative one
 * is added (subtracted) while it fails, and no weight (0) means FAULT while it fails. The priority a tracked change
 * produces stays within 1–254.
 */
public record VrrpTracking(List<Interface> interfaces, List<Script> scripts) {
    public static final VrrpTracking NONE = new VrrpTracking(List.of(), List.of());
    static final int MAX_WEIGHT = 253;

    public VrrpTracking {
        interfaces = List.copyOf(interfaces);
        scripts = List.copyOf(scripts);
    }

    public boolean isEmpty() {
        return interfaces.isEmpty() && scripts.isEmpty();
    }

    /** A tracked interface: down (or missing) is a failure. */
    public record Interface(String name, int weight) {
    }

    /**
     * A check command run every {@code interval} (exit 0 = fine; any other exit, a start failure or running past
     * {@code timeout} = failed); {@code rise} passes in a row make it fine, {@code fall} failures in a row failed.
     * It starts as fine (keepalived's default) unless {@code initFail}.
     */
    public record Script(String name, List<String> command, Duration interval, Duration timeout, int rise, int fall,
                         int weight, boolean initFail) {
        public Script {
            command = List.copyOf(command);
        }
    }

    static VrrpTracking parse(ConfigMap section) {
        List<Interface> interfaces = new ArrayList<>();
        Set<String> seen = new HashSet<>();
        for (ConfigNode n : section.list("track_interface")) {
            String expected = "an interface name, or {name: eth1, weight: -50}";
            if (n instanceof ConfigNode.Scalar s && !s.isNull()) {
                add(section, n, seen, interfaces, new Interface(s.text().trim(), 0));
            } else if (n instanceof ConfigNode.Mapping) {
                ConfigMap m = ConfigMap.of(n, section.problems());
                String name = m.requireString("name", "the interface name, e.g. eth1");
                int weight = weight(m);
                m.finish();
                if (name != null) {
                    add(section, n, seen, interfaces, new Interface(name.trim(), weight));
                }
            } else {
                section.problems().add(n, "is " + n.kind(), expected);
            }
        }
        List<Script> scripts = new ArrayList<>();
        Set<String> names = new HashSet<>();
        for (ConfigMap m : section.mapList("track_script")) {
            String name = m.requireString("name", "a name for logs and status, e.g. chk_haproxy");
            List<String> command = command(m);
            Duration interval = m.duration("interval", Duration.ofSeconds(1), Duration.ofMillis(100));
            if (interval.compareTo(Duration.ofHours(1)) > 0) {
                m.error("interval", "interval " + interval.toSeconds() + "s is too long", "100ms to 1h");
                interval = Duration.ofSeconds(1);
            }
            Duration timeout = m.duration("timeout", interval, Duration.ofMillis(10));
            if (timeout.compareTo(interval) > 0) {
                m.error("timeout", "timeout " + timeout.toMillis() + "ms is longer than interval " + interval.toMillis()
                        + "ms (a check still running when the next is due would be skipped)", "at most the interval");
                timeout = interval;
            }
            int rise = m.integer("rise", 1, 1, 100);
            int fall = m.integer("fall", 1, 1, 100);
            int weight = weight(m);
            boolean initFail = m.bool("init_fail", false);
            m.finish();
            if (name != null && !names.add(name)) {
                m.error("name", "track_script '" + name + "' is listed twice", "unique names");
            } else if (name != null && !command.isEmpty()) {
                scripts.add(new Script(name, command, interval, timeout, rise, fall, weight, initFail));
            }
        }
        return new VrrpTracking(interfaces, scripts);
    }

    private static void add(ConfigMap section, ConfigNode at, Set<String> seen, List<Interface> out, Interface i) {
        if (i.name().isEmpty() || i.name().length() > 15 || i.name().contains("/") || i.name().contains(" ")) {
            section.problems().add(at, "'" + i.name() + "' is not an interface name", "an interface name, e.g. eth1");
        } else if (!seen.add(i.name())) {
            section.problems().add(at, "track_interface '" + i.name() + "' is listed twice", "each interface once");
        } else {
            out.add(i);
        }
    }

    private static int weight(ConfigMap m) {
        return m.integer("weight", 0, -MAX_WEIGHT, MAX_WEIGHT);
    }

    /** {@code script: [/usr/bin/pgrep, haproxy]} or {@code script: "/usr/bin/pgrep haproxy"} (split on spaces, no shell). */
    private static List<String> command(ConfigMap m) {
        String expected = "the command and its arguments, e.g. [/usr/bin/pgrep, -x, haproxy] (no shell)";
        if (!m.has("script")) {
            m.error("script", "missing required key 'script'", expected);
            return List.of();
        }
        List<ConfigNode> items = m.list("script");
        List<String> out = new ArrayList<>();
        for (ConfigNode n : items) {
            if (!(n instanceof ConfigNode.Scalar s) || s.isNull()) {
                m.problems().add(n, "is " + n.kind(), expected);
                return List.of();
            }
            if (items.size() == 1) {
                for (String part : s.text().trim().split("\\s+")) {
                    if (!part.isEmpty()) {
                        out.add(part);
                    }
                }
            } else {
                out.add(s.text());
            }
        }
        if (out.isEmpty()) {
            m.error("script", "script is empty", expected);
        }
        return out;
    }
}
