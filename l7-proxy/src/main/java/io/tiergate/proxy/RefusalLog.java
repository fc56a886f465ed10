package io.tiergate.proxy;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import java.time.Duration;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One WARN per peer and kind (untrusted source, malformed header) per minute for connections the PROXY protocol makes
 * us refuse. A scanner or a misconfigured balancer would otherwise write a line per connection; the kind, not the
 * exact parse error, is the key so a peer cannot vary its garbage into more lines. The bounded cache keeps a flood of
 * distinct sources from growing memory (past it, some repeats are logged again, which is harmless).
 */
final class RefusalLog {
    private static final Logger log = LoggerFactory.getLogger(ProxyProtocol.class);
    private static final Duration QUIET = Duration.ofMinutes(1);
    private static final Cache<String, Boolean> recent = Caffeine.newBuilder().maximumSize(10_000)
            .expireAfterWrite(QUIET).build();

    private RefusalLog() {
    }

    /** An untrusted source: closed before a byte is read. */
    static void untrusted(String peer) {
        refused(peer, "untrusted", "not in proxy_protocol.trusted");
    }

    /** A trusted source whose PROXY header does not parse. */
    static void badHeader(String peer, String why) {
        refused(peer, "bad-header", "bad PROXY header: " + why);
    }

    private static void refused(String peer, String kind, String why) {
        String who = peer == null ? "-" : peer;
        if (recent.asMap().putIfAbsent(who + " " + kind, Boolean.TRUE) == null) {
            log.warn("PROXY protocol: refused a connection from {}: {} (logged once a minute per peer)", who, why);
        }
    }
}
