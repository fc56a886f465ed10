package io.tiergate.shared.config;

import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Reads YAML into {@link ConfigNode}s with positions. Jackson's data binding stops at the first error and forgets
 * where values came from; the streaming parser keeps both, so this walks the token stream itself.
 */
public final class YamlLoader {
    /**
     * The largest config file read. SnakeYAML's own limit (3 MiB of code points) fails with a message that looks like
     * a syntax error; a file this large is checked and named before parsing instead.
     */
    public static final long MAX_BYTES = 16L << 20;

    private static final YAMLFactory FACTORY = YAMLFactory.builder()
            .loaderOptions(loaderOptions())
            .build();

    private static org.yaml.snakeyaml.LoaderOptions loaderOptions() {
        org.yaml.snakeyaml.LoaderOptions o = new org.yaml.snakeyaml.LoaderOptions();
        o.setCodePointLimit((int) MAX_BYTES + 1);
        return o;
    }

    private YamlLoader() {
    }

    public static ConfigNode load(Path file) {
        String name = file.toString();
        String text;
        try {
            if (Files.isRegularFile(file) && Files.size(file) > MAX_BYTES) {
                throw ConfigException.single(name, "file is too large: " + Units.formatSize(Files.size(file))
                        + ", more than the " + Units.formatSize(MAX_BYTES) + " a config file may have",
                        "a config file of at most " + Units.formatSize(MAX_BYTES));
            }
            text = new String(FileErrors.read(file), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw ConfigException.single(name, "cannot read file: " + FileErrors.reason(e), "a readable YAML file");
        }
        return parse(name, text);
    }

    public static ConfigNode parse(String fileName, String yaml) {
        try (JsonParser p = FACTORY.createParser(yaml)) {
            JsonToken t = p.nextToken();
            if (t == null) {
                return new ConfigNode.Mapping(fileName, 1, 1, "", Map.of(), Map.of());
            }
            ConfigNode root = read(p, fileName, "");
            if (p.nextToken() != null) {
                JsonLocation l = p.currentTokenLocation();
                throw new ConfigException(List.of(new Problem(fileName, l.getLineNr(), l.getColumnNr(), "",
                        "more than one YAML document", "a single document")));
            }
            return root;
        } catch (JsonProcessingException e) {
            throw new ConfigException(List.of(syntaxError(fileName, e)));
        } catch (IOException e) {
            throw ConfigException.single(fileName, "cannot read: " + e.getMessage(), "valid YAML");
        }
    }

    /**
     * SnakeYAML says what it expected ("expected ',' or '}', but got :") and where the construct it was reading began;
     * Jackson's message starts with the latter only. Both are kept, at the place of the problem itself.
     */
    private static Problem syntaxError(String fileName, JsonProcessingException e) {
        if (e.getCause() instanceof org.yaml.snakeyaml.error.MarkedYAMLException m && m.getProblem() != null) {
            var at = m.getProblemMark();
            String msg = m.getProblem().trim();
            if (m.getContext() != null && m.getContextMark() != null) {
                msg += " (" + m.getContext().trim() + " that starts at line " + (m.getContextMark().getLine() + 1)
                        + ", column " + (m.getContextMark().getColumn() + 1) + ")";
            }
            return new Problem(fileName, at == null ? 0 : at.getLine() + 1, at == null ? 0 : at.getColumn() + 1, "",
                    "YAML syntax error: " + msg, "valid YAML");
        }
        JsonLocation l = e.getLocation();
        String msg = e.getOriginalMessage();
        int nl = msg.indexOf('\n');
        if (nl > 0) {
            msg = msg.substring(0, nl);
        }
        return new Problem(fileName, l == null ? 0 : l.getLineNr(), l == null ? 0 : l.getColumnNr(), "",
                "YAML syntax error: " + msg, "valid YAML");
    }

    private static ConfigNode read(JsonParser p, String file, String path) throws IOException {
        JsonLocation at = p.currentTokenLocation();
        int line = at.getLineNr();
        int col = at.getColumnNr();
        JsonToken t = p.currentToken();
        switch (t) {
            case START_OBJECT -> {
                Map<String, ConfigNode> entries = new LinkedHashMap<>();
                Map<String, int[]> keys = new LinkedHashMap<>();
                while (p.nextToken() == JsonToken.FIELD_NAME) {
                    String key = p.currentName();
                    JsonLocation kl = p.currentTokenLocation();
                    p.nextToken();
                    String childPath = path.isEmpty() ? key : path + "." + key;
                    if (entries.containsKey(key)) {
                        throw new ConfigException(List.of(new Problem(file, kl.getLineNr(), kl.getColumnNr(),
                                childPath, "duplicate key '" + key + "'", "each key once")));
                    }
                    keys.put(key, new int[] {kl.getLineNr(), kl.getColumnNr()});
                    entries.put(key, read(p, file, childPath));
                }
                return new ConfigNode.Mapping(file, line, col, path, entries, keys);
            }
            case START_ARRAY -> {
                List<ConfigNode> items = new ArrayList<>();
                int i = 0;
                while (p.nextToken() != JsonToken.END_ARRAY) {
                    items.add(read(p, file, path + "[" + i++ + "]"));
                }
                return new ConfigNode.Sequence(file, line, col, path, items);
            }
            case VALUE_NULL -> {
                return new ConfigNode.Scalar(file, line, col, path, null, false, true);
            }
            default -> {
                return new ConfigNode.Scalar(file, line, col, path, p.getText(), t == JsonToken.VALUE_STRING, false);
            }
        }
    }
}
