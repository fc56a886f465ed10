package io.tiergate.shared.health;

/** What the health engine currently believes about a target. */
public enum HealthState {
    /** Not probed yet, counted as up: the first success makes it UP, {@code fall} consecutive failures DOWN. */
    UNKNOWN,
    UP,
    DOWN
}
