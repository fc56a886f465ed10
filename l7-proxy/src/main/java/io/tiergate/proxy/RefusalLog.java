package io.tiergate.proxy;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import java.time.Duration;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One WARN per peer per minute for connections the PROXY protocol makes us refuse (an untrusted source, a malformed
 * header). A scanner or a misconfigured balancer would otherwise write a line per connection; the bounded cache keeps
 * a flood of distinct sources from growing memory (past it, some repeats are logged again, which is harmless).
 */
final class RefusalLog {
    private static final Logger log = LoggerFactory.getLogger(ProxyProtocol.class);
    private static final Duration QUIET = Duration.ofMinutes(1);
    private static final Cache<String, Boolean> recent = Caffeine.newBuilder().maximumSize(10_000)
            .expireAfterWrite(QUIET).build();

    private RefusalLog() {
    }

    static void refused(String peer, String why) {
        String key = peer == null ? "-" : peer;
        if (recent.asMap().putIfAbsent(key + " " + why, Boolean.TRUE) == null) {
            log.warn("PROXY protocol: refused a connection from {}: {} (logged once a minute per peer)", key, why);
        }
    }
}
