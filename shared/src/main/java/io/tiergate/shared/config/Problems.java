package io.tiergate.shared.config;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/** Collects every problem of a configuration so the user sees all of them at once, not one per run. */
public final class Problems {
    private final List<Problem> list = new ArrayList<>();

    public void add(ConfigNode at, String message, String expected) {
        list.add(new Problem(at.file(), at.line(), at.column(), at.path(), message, expected));
    }

    public void add(Problem p) {
        list.add(p);
    }

    public boolean isEmpty() {
        return list.isEmpty();
    }

    public int size() {
        return list.size();
    }

    /** Problems in file order. */
    public List<Problem> list() {
        List<Problem> sorted = new ArrayList<>(list);
        sorted.sort(Comparator.comparingInt(Problem::line).thenComparingInt(Problem::column));
        return List.copyOf(sorted);
    }

    public String format() {
        StringBuilder sb = new StringBuilder();
        for (Problem p : list()) {
            sb.append(p.format()).append('\n');
        }
        return sb.toString();
    }

    /** Throws {@link ConfigException} carrying every problem when there is at least one. */
    public void throwIfAny() {
        if (!list.isEmpty()) {
            throw new ConfigException(list());
        }
    }
}
