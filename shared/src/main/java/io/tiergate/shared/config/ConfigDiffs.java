package io.tiergate.shared.config;

import java.lang.reflect.RecordComponent;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.Set;

/** Helpers for the tiers' reload diffs (what a reload changed, in the config file's words). */
public final class ConfigDiffs {
    private ConfigDiffs() {
    }

    /** Adds {@code key} to {@code out} when {@code a} and {@code b} differ. */
    public static void changed(String key, Object a, Object b, List<String> out) {
        if (!Objects.equals(a, b)) {
            out.add(key);
        }
    }

    /**
     * Adds to {@code out}, as its snake_case key, every component of two config records that differs and is not in
     * {@code compared}: a key added to a config later and not yet taught to its diff shows up as needing a restart
     * instead of being silently ignored by a reload.
     */
    public static <R extends Record> void unlisted(R a, R b, Set<String> compared, List<String> out) {
        for (RecordComponent c : a.getClass().getRecordComponents()) {
            if (compared.contains(c.getName())) {
                continue;
            }
            try {
                if (!Objects.equals(c.getAccessor().invoke(a), c.getAccessor().invoke(b))) {
                    out.add(c.getName().replaceAll("([A-Z])", "_$1").toLowerCase(Locale.ROOT));
                }
            } catch (ReflectiveOperationException e) {
                throw new IllegalStateException(e);
            }
        }
    }
}
