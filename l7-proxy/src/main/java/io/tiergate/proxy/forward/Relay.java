package io.tiergate.proxy.forward;

import io.tiergate.proxy.cache.CacheResponse;
import io.tiergate.proxy.compress.Coding;
import io.tiergate.proxy.compress.Compression;
import io.tiergate.proxy.compress.ContentEncoder;
import io.tiergate.proxy.compress.GzipConfig;
import io.tiergate.proxy.retry.Failure;
import io.vertx.core.MultiMap;
import io.vertx.core.Promise;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.core.http.HttpVersion;

/**
 * The last step of a proxied request: a committed exchange's response on its way to the client — head without
 * hop-by-hop fields and with the proxy's own, the body streamed (compressed when negotiated) with back-pressure, and
 * {@code upstream_read} between reads — or, for the cache, whole into its sink. A response that breaks off or stalls
 * is answered honestly: a 502/504 while no byte reached the client, a visibly cut response after. The
 * {@link Exchange} keeps the accounting (access log fields, metrics).
 */
final class Relay {
    private final Exchange exchange;
    private final HttpServerRequest req;
    private final HttpServerResponse resp;
    private final GzipConfig gzip;
    private final long upstreamReadMs;
    private final Promise<CacheResponse> sink;
    private UpstreamResponse relaying; // until the body ends, breaks off or stalls
    private ContentEncoder encoder; // non-null while a compressed relay runs

    Relay(Exchange exchange, HttpServerRequest req, GzipConfig gzip, long upstreamReadMs,
          Promise<CacheResponse> sink) {
        this.exchange = exchange;
        this.req = req;
        this.resp = req.response();
        this.gzip = gzip;
        this.upstreamReadMs = upstreamReadMs;
        this.sink = sink;
    }

    void start(UpstreamResponse cresp) {
        if (sink != null) {
            fetch(cresp);
            return;
        }
        // A response starts as "200 OK": setting that again costs a status lookup and, with the message, a new status
        // object per response (it showed in the profile at 1,000 connections).
        if (cresp.status() != 200 || cresp.statusMessage() != null && !cresp.statusMessage().equals("OK")) {
            resp.setStatusCode(cresp.status());
            if (cresp.statusMessage() != null) {
                resp.setStatusMessage(cresp.statusMessage());
            }
        }
        // Straight into the response's own map: no intermediate copy of the head.
        MultiMap h = resp.headers();
        Headers.copyEndToEnd(cresp.headers(), h);
        Coding coding = gzip.enabled()
                ? Compression.negotiate(gzip, req.method().name(), req.headers(), cresp.status(), h)
                : Coding.IDENTITY;
        exchange.decorate(h);
        boolean noBody = req.method() == HttpMethod.HEAD || cresp.status() == 204 || cresp.status() == 304
                || cresp.status() < 200;
        if (!noBody && !h.contains(io.netty.handler.codec.http.HttpHeaderNames.CONTENT_LENGTH)) {
            resp.setChunked(true);
        }
        relaying = cresp;
        // Compression sits inside the relay: each upstream chunk is encoded and flushed (SYNC_FLUSH / brotli flush)
        // as it arrives, so streaming keeps streaming. The encoder's native state is released on every path.
        ContentEncoder enc = coding == Coding.IDENTITY ? null : coding.encoder(gzip);
        encoder = enc;
        // A hand-written relay rather than Pipe: Pipe allocates futures per chunk and showed up at the top of the
        // profile for small responses. Back-pressure: pause the upstream while the client's write queue is full.
        cresp.exceptionHandler(t -> {
            releaseEncoder();
            relaying = null;
            if (exchange.clientGone() || resp.ended()) {
                return;
            }
            exchange.note(Failure.ofExchange(t).name().toLowerCase());
            if (!resp.headWritten()) {
                // Not a byte reached the client yet (bad chunk framing, a close right after the head).
                exchange.noRetry("upstream-broke-after-head");
                replaceHead(502, "upstream broke its response before the first body byte: " + t.getMessage());
                return;
            }
            exchange.noRetry("upstream-broke-mid-response");
            cutClient();
        });
        watchReads(cresp);
        cresp.handler(chunk -> {
            if (exchange.clientGone()) {
                return;
            }
            if (enc == null) {
                resp.write(chunk);
            } else {
                Buffer out = enc.write(chunk);
                if (out.length() > 0) {
                    resp.write(out);
                }
            }
            if (resp.writeQueueFull()) {
                // A slow client is not a silent upstream: upstream_read only runs while we want to read.
                cresp.pause();
                resp.drainHandler(v -> {
                    if (relaying == cresp) {
                        cresp.resume();
                    }
                });
            }
        });
        cresp.endHandler(last -> {
            relaying = null;
            if (!exchange.clientGone() && !cresp.trailers().isEmpty() && Grpc.clientTakesTrailers(req, resp)) {
                resp.trailers().setAll(Headers.endToEnd(cresp.trailers()));
            }
            if (exchange.clientGone()) {
                releaseEncoder();
            } else if (enc == null) {
                // The last bytes with the end: one write and one flush for a small response, not two.
                if (last == null) {
                    resp.end();
                } else {
                    resp.end(last);
                }
            } else {
                encoder = null;
                resp.end(last == null ? enc.finish()
                        : Buffer.buffer().appendBuffer(enc.write(last)).appendBuffer(enc.finish()));
            }
        });
    }

    /** The client went away: stop reading, and never pool the half-read connection. */
    void clientLeft() {
        UpstreamResponse r = relaying;
        if (r != null) {
            relaying = null;
            r.abort();
        }
        releaseEncoder();
    }

    /** Sink mode (the cache): the whole response, under the same idle timeout as a relayed one. */
    private void fetch(UpstreamResponse cresp) {
        int status = cresp.status();
        MultiMap h = Headers.endToEnd(cresp.headers());
        Buffer whole = Buffer.buffer();
        relaying = cresp;
        watchReads(cresp);
        cresp.handler(whole::appendBuffer);
        cresp.exceptionHandler(t -> {
            relaying = null;
            sink.tryFail(new Exchange.UpstreamError(502, "upstream broke mid-response: " + t));
            exchange.finishFetch();
        });
        cresp.endHandler(last -> {
            relaying = null;
            if (last != null) {
                whole.appendBuffer(last);
            }
            sink.tryComplete(new io.tiergate.proxy.cache.CacheResponse(status, h, whole));
            exchange.finishFetch();
        });
    }

    /**
     * {@code upstream_read} is the longest silence between two reads for the whole response, not only until its
     * head: an origin that stalls mid-body is cut after it, and its connection is closed (never pooled again, the
     * rest of that response may still come). The response's sender keeps the clock (see
     * {@link UpstreamResponse#watchReads}); a pause for a slow client stops it.
     */
    private void watchReads(UpstreamResponse cresp) {
        long limit = upstreamReadMs;
        cresp.watchReads(limit, () -> {
            if (relaying == cresp) {
                stalled(cresp, limit);
            }
        });
    }

    private void stalled(UpstreamResponse cresp, long ms) {
        relaying = null;
        cresp.abort(); // the connection closes: it goes back to no pool, the rest of the response may still come
        releaseEncoder();
        exchange.note("timeout");
        String what = "upstream timed out: no byte for " + ms + " ms (upstream_read) after the response head"
                + " (" + exchange.answeredBy() + ")";
        if (sink != null) {
            sink.tryFail(new Exchange.UpstreamError(504, what));
            exchange.finishFetch();
            return;
        }
        if (exchange.clientGone()) {
            return;
        }
        if (!resp.headWritten()) {
            // Nothing reached the client yet: it can still get an honest 504 instead of the origin's head.
            exchange.noRetry("upstream-timeout-after-head");
            replaceHead(504, what);
            return;
        }
        exchange.noRetry("upstream-timeout-mid-response");
        cutClient();
    }

    /** The origin's head was taken but not sent: the client gets {@code status} instead. */
    private void replaceHead(int status, String message) {
        resp.headers().clear();
        resp.setChunked(false);
        resp.setStatusMessage(io.netty.handler.codec.http.HttpResponseStatus.valueOf(status).reasonPhrase());
        exchange.error(status, message);
    }

    /**
     * The response already started: the only honest signal left is an abrupt end. HTTP/1.1 closes the connection, so
     * the client sees fewer bytes than declared or no last chunk, never a complete short body; HTTP/2 resets only this
     * stream (RST_STREAM INTERNAL_ERROR), the connection's other streams go on.
     */
    private void cutClient() {
        exchange.cutMidResponse();
        if (req.version() == HttpVersion.HTTP_2) {
            resp.reset(2);
        } else {
            resp.reset();
            req.connection().close();
        }
    }

    private void releaseEncoder() {
        ContentEncoder e = encoder;
        if (e != null) {
            encoder = null;
            e.close();
        }
    }
}
