package io.tiergate.director.dataplane.ipvs;

/** Placeholder until the DR traffic check lands. */
final class IpvsTrafficCheck {
    private IpvsTrafficCheck() {}

    static void run(IpvsClient ipvs) {
        throw new AssertionError("not written yet");
    }
}
