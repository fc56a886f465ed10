package io.tiergate.shared.config;

import java.util.List;
import java.util.Map;

/**
 * A YAML value together with where it was written, so every validation message can name FILE:LINE:COL and the
 * dotted path of the field.
 */
public sealed interface ConfigNode permits ConfigNode.Scalar, ConfigNode.Mapping, ConfigNode.Sequence {

    String file();

    int line();

    int column();

    /** Dotted path from the document root, e.g. {@code proxy.upstreams.app.servers[1].weight}. */
    String path();

    /** What kind of YAML value this is, for messages ("a mapping", "a list", "a string"). */
    String kind();

    record Scalar(String file, int line, int column, String path, String text, boolean quoted, boolean isNull)
            implements ConfigNode {
        @Override
        public String kind() {
            return isNull ? "nothing (null)" : "a scalar value";
        }
    }

    /** Keys keep their order and their own positions (an unknown key is reported where the key is). */
    record Mapping(String file, int line, int column, String path, Map<String, ConfigNode> entries,
                   Map<String, int[]> keyPositions) implements ConfigNode {
        @Override
        public String kind() {
            return "a mapping";
        }
    }

    record Sequence(String file, int line, int column, String path, List<ConfigNode> items) implements ConfigNode {
        @Override
        public String kind() {
            return "a list";
        }
    }
}
