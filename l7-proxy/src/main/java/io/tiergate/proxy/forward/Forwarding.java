package io.tiergate.proxy.forward;

import io.tiergate.proxy.log.AccessLog;
import io.tiergate.proxy.log.ProxyMetrics;
import io.vertx.core.Vertx;

/** What every step after routing shares for one request: the node's services and the snapshot it started with. */
record Forwarding(Vertx vertx, Snapshot snapshot, ProxyMetrics metrics, AccessLog accessLog) {
}
