package io.tiergate.shared.runtime;

import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;

/**
 * The one place a Tiergate process (and its tests) makes its Vert.x instance, so both tiers run with the same options.
 *
 * <p>Java NIO, not Netty's native epoll: epoll was tried (Netty pinned to 4.2.18, the newest whose linux-x86_64 jar
 * Maven Central serves here) and measured no faster for the proxy or the L4 relay on this hardware (alternating A/B in
 * docs/benchmarks.md), which did not justify running an older Netty than Vert.x is built and tested with.
 */
public final class Runtimes {
    private Runtimes() {
    }

    public static Vertx vertx() {
        return Vertx.builder().with(new VertxOptions()).build();
    }
}
