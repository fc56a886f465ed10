package io.tiergate.proxy.auth;

import io.tiergate.shared.config.ConfigMap;

import java.nio.file.Path;

/**
 * nginx's {@code auth_basic} + {@code auth_basic_user_file}: {@code auth_basic: {realm: "Staff", user_file: FILE}}
 * ({@code auth_basic: off} turns an inherited one off). {@code users} is the file as read when the configuration was
 * loaded; the running proxy re-reads it when it changes (see {@code ControlStage}).
 */
public record BasicAuth(String realm, Path file, Htpasswd users) {
    public static final BasicAuth OFF = new BasicAuth(null, null, null);

    public static BasicAuth parse(ConfigMap parent, String key) {
        if ("off".equals(parent.raw(key).map(n -> n instanceof io.tiergate.shared.config.ConfigNode.Scalar s
                ? s.text() : null).orElse(null))) {
            return OFF;
        }
        ConfigMap m = parent.mapOrEmpty(key);
        String realm = m.string("realm", "Restricted");
        if (realm.contains("\"") || realm.contains("\\") || realm.chars().anyMatch(c -> c < 32)) {
            m.error("realm", "a realm may not contain quotes, backslashes or control characters", "e.g. Staff only");
        }
        String file = m.requireString("user_file", "an htpasswd file with bcrypt or SHA-crypt hashes");
        m.finish();
        if (file == null) {
            return null;
        }
        try {
            return new BasicAuth(realm, Path.of(file), Htpasswd.load(Path.of(file)));
        } catch (Htpasswd.Invalid e) {
            m.error("user_file", e.getMessage(), "an htpasswd file with bcrypt ($2y$) or SHA-crypt ($5$/$6$) hashes only");
            return null;
        }
    }

    public boolean on() {
        return file != null;
    }
}
