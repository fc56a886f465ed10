package io.tiergate.proxy.route;

import io.tiergate.proxy.config.LocationConfig;
import io.tiergate.proxy.config.VirtualServerConfig;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The locations of one virtual server, indexed for nginx's selection: an exact match ends the search; otherwise the
 * longest matching prefix is remembered, and unless it is marked {@code stop_regex} (nginx {@code ^~}) the regexes
 * are tried in file order and the first that matches wins; otherwise the remembered prefix is used.
 */
public final class VirtualHost {
    private final VirtualServerConfig config;
    private final Map<String, LocationConfig> exact = new HashMap<>();
    private final List<LocationConfig> prefixes = new ArrayList<>();
    private final List<LocationConfig> regexes = new ArrayList<>();

    VirtualHost(VirtualServerConfig config) {
        this.config = config;
        for (LocationConfig l : config.locations()) {
            switch (l.kind()) {
                case EXACT -> exact.put(l.path(), l);
                case PREFIX -> prefixes.add(l);
                case REGEX -> regexes.add(l);
            }
        }
        prefixes.sort(Comparator.comparingInt((LocationConfig l) -> l.path().length()).reversed());
    }

    public VirtualServerConfig config() {
        return config;
    }

    /** The location for a normalized path (no query), or null when nothing matches. */
    public LocationConfig locate(String path) {
        LocationConfig e = exact.get(path);
        if (e != null) {
            return e;
        }
        LocationConfig longest = null;
        for (LocationConfig p : prefixes) {
            if (path.startsWith(p.path())) {
                longest = p;
                break;
            }
        }
        if (longest != null && longest.stopRegex()) {
            return longest;
        }
        for (LocationConfig r : regexes) {
            if (r.regex().matcher(path).find()) {
                return r;
            }
        }
        return longest;
    }
}
