package io.tiergate.shared.health;

/**
 * A change of a target's state. {@code reason} is operator-facing text such as "connect refused",
 * "HTTP 503", "timeout after 100ms" or "2 consecutive successes"; {@code nanoTime} is
 * {@link System#nanoTime()} when the deciding probe finished.
 */
public record HealthTransition(String targetId, HealthState from, HealthState to, String reason, long nanoTime) {
}
