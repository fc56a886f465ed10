package io.tiergate.shared.health;

/** What the health engine currently believes about a target. */
public enum HealthState {
    /** Not probed yet: the first probe result alone decides UP or DOWN. */
    UNKNOWN,
    UP,
    DOWN
}
