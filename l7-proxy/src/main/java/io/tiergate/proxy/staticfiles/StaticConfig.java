package io.tiergate.proxy.staticfiles;

import io.tiergate.shared.config.ConfigMap;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * A location that answers from disk, nginx-style: {@code root: DIR} maps the whole request path under DIR,
 * {@code alias: DIR} maps the part after the location's prefix. {@code directory} is the directory's real path
 * (symlinks resolved once at load), which every served file's real path must stay under.
 */
public record StaticConfig(Path directory, boolean alias, List<String> index) {
    public static final List<String> DEFAULT_INDEX = List.of("index.html");

    /** Null when the location has neither {@code root} nor {@code alias}. */
    public static StaticConfig parse(ConfigMap location) {
        boolean root = location.has("root");
        boolean alias = location.has("alias");
        List<String> index = location.stringList("index", DEFAULT_INDEX);
        if (!root && !alias) {
            if (location.has("index")) {
                location.error("index", "index only applies to a location with root: or alias:", "root: or alias:");
            }
            return null;
        }
        String key = alias ? "alias" : "root";
        if (root && alias) {
            location.error("alias", "a location may have root: or alias:, not both", "one of root, alias");
            return null;
        }
        if (alias && location.has("regex")) {
            location.error("alias", "alias: needs a prefix or exact location (it replaces the matched prefix)",
                    "root: for a regex location");
            return null;
        }
        for (String i : index) {
            if (i.isEmpty() || i.contains("/") || i.contains("\\") || i.equals("..") || i.equals(".")) {
                location.error("index", "'" + i + "' is not a file name", "file names like index.html");
                return null;
            }
        }
        String dir = location.requireString(key, "a directory");
        if (dir == null) {
            return null;
        }
        Path real;
        try {
            real = Path.of(dir).toRealPath();
        } catch (IOException | RuntimeException e) {
            location.error(key, "directory '" + dir + "' does not exist or cannot be read", "an existing directory");
            return null;
        }
        if (!Files.isDirectory(real)) {
            location.error(key, "'" + dir + "' is not a directory", "an existing directory");
            return null;
        }
        return new StaticConfig(real, alias, List.copyOf(index));
    }
}
