package io.tiergate.shared.config;

import java.util.List;
import java.util.stream.Collectors;

/** A configuration the user has to fix; its message lists every problem, one per line. */
public final class ConfigException extends RuntimeException {
    private static final long serialVersionUID = 1L;
    private final transient List<Problem> problems;

    public ConfigException(List<Problem> problems) {
        super(problems.stream().map(Problem::format).collect(Collectors.joining("\n")));
        this.problems = List.copyOf(problems);
    }

    public static ConfigException single(String file, String message, String expected) {
        return new ConfigException(List.of(new Problem(file, 0, 0, "", message, expected)));
    }

    public List<Problem> problems() {
        return problems;
    }
}
