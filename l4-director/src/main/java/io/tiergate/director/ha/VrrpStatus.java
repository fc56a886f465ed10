package io.tiergate.director.ha;

import java.net.Inet4Address;
import java.time.Duration;
import java.util.Optional;

/**
 * A snapshot of one VRRP instance for status pages and the admin API.
 *
 * @param priority the priority advertised now (lowered while unhealthy with a negative track_weight)
 * @param master   who is master as far as we know: ourselves when MASTER, else the source of the last advert
 *                 heard (empty before the first one)
 */
public record VrrpStatus(int vrid, VrrpState state, int priority, Duration masterAdvertInterval,
                         Optional<Inet4Address> master, long roleChanges) {
}
