package io.tiergate.shared.health;

import io.tiergate.shared.config.Units;

import java.time.Duration;
import java.util.List;
import java.util.Objects;
import java.util.Set;

/**
 * How to probe a target and how many results it takes to change its state.
 *
 * <p>{@code timeout} longer than {@code interval} is clamped to {@code interval}: probes of one
 * target never overlap, so a longer timeout would silently stretch the interval. An empty
 * {@code expectStatus} means any status from 200 to 399, like nginx and HAProxy. {@code httpPath},
 * {@code httpHost}, {@code expectStatus} and {@code bodyContains} matter only for HTTP/HTTPS;
 * {@code command} only for COMMAND, where {@code {host}} and {@code {port}} in any argument are
 * replaced by the target's address (also passed as TIERGATE_HOST / TIERGATE_PORT).
 */
public record HealthCheck(Type type, Duration interval, Duration timeout, int rise, int fall, String httpPath,
                          String httpHost, Set<Integer> expectStatus, String bodyContains, List<String> command) {

    public enum Type { TCP, HTTP, HTTPS, COMMAND }

    public static final Duration DEFAULT_INTERVAL = Duration.ofSeconds(1);
    public static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(1);
    public static final int DEFAULT_RISE = 2;
    public static final int DEFAULT_FALL = 3;

    public HealthCheck {
        Objects.requireNonNull(type, "type");
        Objects.requireNonNull(interval, "interval");
        Objects.requireNonNull(timeout, "timeout");
        requirePositiveMillis("interval", interval);
        requirePositiveMillis("timeout", timeout);
        if (timeout.compareTo(interval) > 0) {
            timeout = interval;
        }
        if (rise < 1) {
            throw new IllegalArgumentException("rise: " + rise + " (expected: >= 1)");
        }
        if (fall < 1) {
            throw new IllegalArgumentException("fall: " + fall + " (expected: >= 1)");
        }
        expectStatus = expectStatus == null ? Set.of() : Set.copyOf(expectStatus);
        for (int code : expectStatus) {
            if (code < 100 || code > 599) {
                throw new IllegalArgumentException("expectStatus: " + code + " (expected: 100..599)");
            }
        }
        boolean http = type == Type.HTTP || type == Type.HTTPS;
        if (httpPath == null) {
            httpPath = http ? "/" : null;
        } else if (!httpPath.startsWith("/")) {
            throw new IllegalArgumentException("httpPath: \"" + httpPath + "\" (expected: starts with /)");
        }
        if (httpHost != null && httpHost.isBlank()) {
            throw new IllegalArgumentException("httpHost: \"" + httpHost + "\" (expected: a host name or null)");
        }
        if (bodyContains != null && bodyContains.isEmpty()) {
            bodyContains = null;
        }
        command = command == null ? List.of() : List.copyOf(command);
        if (type == Type.COMMAND && command.isEmpty()) {
            throw new IllegalArgumentException("command: [] (expected: program and arguments)");
        }
    }

    public static HealthCheck tcp() {
        return tcp(DEFAULT_INTERVAL, DEFAULT_TIMEOUT, DEFAULT_RISE, DEFAULT_FALL);
    }

    public static HealthCheck tcp(Duration interval, Duration timeout, int rise, int fall) {
        return new HealthCheck(Type.TCP, interval, timeout, rise, fall, null, null, null, null, null);
    }

    /** GET {@code path} with default timing, expecting 200..399. */
    public static HealthCheck http(String path) {
        return http(DEFAULT_INTERVAL, DEFAULT_TIMEOUT, DEFAULT_RISE, DEFAULT_FALL, path, null, Set.of(), null);
    }

    /**
     * @param host Host header to send; null sends the target's host:port
     * @param expectStatus allowed status codes; empty means 200..399
     * @param bodyContains substring the body must contain; null to skip
     */
    public static HealthCheck http(Duration interval, Duration timeout, int rise, int fall, String path,
                                   String host, Set<Integer> expectStatus, String bodyContains) {
        return new HealthCheck(Type.HTTP, interval, timeout, rise, fall, path, host, expectStatus, bodyContains, null);
    }

    /** Like {@link #http(Duration, Duration, int, int, String, String, Set, String)} over TLS; certificates are not verified. */
    public static HealthCheck https(Duration interval, Duration timeout, int rise, int fall, String path,
                                    String host, Set<Integer> expectStatus, String bodyContains) {
        return new HealthCheck(Type.HTTPS, interval, timeout, rise, fall, path, host, expectStatus, bodyContains, null);
    }

    public static HealthCheck command(Duration interval, Duration timeout, int rise, int fall, List<String> command) {
        return new HealthCheck(Type.COMMAND, interval, timeout, rise, fall, null, null, null, null, command);
    }

    /** Whether an HTTP status counts as healthy for this check. */
    public boolean statusOk(int status) {
        return expectStatus.isEmpty() ? status >= 200 && status <= 399 : expectStatus.contains(status);
    }

    private static void requirePositiveMillis(String name, Duration d) {
        if (d.isNegative() || d.isZero()) {
            throw new IllegalArgumentException(name + ": " + Units.format(d) + " (expected: > 0)");
        }
        if (d.toMillis() == 0) {
            throw new IllegalArgumentException(name + ": " + Units.format(d) + " (expected: >= 1ms)");
        }
    }
}
