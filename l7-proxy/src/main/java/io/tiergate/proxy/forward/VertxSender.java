package io.tiergate.proxy.forward;

import io.tiergate.proxy.request.Authority;
import io.tiergate.proxy.upstream.Peer;
import io.vertx.core.Handler;
import io.vertx.core.MultiMap;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClientAgent;
import io.vertx.core.http.HttpClientRequest;
import io.vertx.core.http.HttpClientResponse;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.RequestOptions;
import io.vertx.core.internal.ContextInternal;
import io.vertx.core.net.HostAndPort;
import io.vertx.core.net.SocketAddress;

/** The general path: Vert.x's HttpClient, for TLS and HTTP/2 upstreams, streamed and file bodies. */
final class VertxSender implements UpstreamSender {
    private final Vertx vertx;
    private final UpstreamClient upstream;

    VertxSender(Vertx vertx, UpstreamClient upstream) {
        this.vertx = vertx;
        this.upstream = upstream;
    }

    @Override
    public Attempt send(Outbound out, Peer peer, boolean fresh, Listener listener) {
        var address = peer.config().address();
        RequestOptions o = new RequestOptions()
                .setMethod(out.method())
                .setHost(upstream.tls() ? upstream.tlsName(peer.config()) : address.host())
                .setPort(address.port())
                .setServer(SocketAddress.inetSocketAddress(address.port(), address.host()))
                .setURI(out.uri())
                .setConnectTimeout(out.bounded(out.connectTimeoutMs()))
                .setIdleTimeout(out.bounded(out.readTimeoutMs()))
                .setHeaders(out.headers());
        HttpClientAgent client = fresh ? upstream.fresh() : upstream.pooled();
        VertxAttempt attempt = new VertxAttempt();
        client.request(o).onComplete(ar -> {
            if (ar.failed()) {
                listener.connectFailed(ar.cause());
                return;
            }
            HttpClientRequest creq = ar.result();
            if (attempt.aborted) {
                creq.reset();
                listener.aborted();
                return;
            }
            attempt.request = creq;
            // Interim responses are signs of life: each restarts the read timeout (Vert.x's only sees the final).
            long idle = o.getIdleTimeout();
            UpstreamGuard.onInterim(creq.connection(), () -> creq.idleTimeout(idle));
            creq.earlyHintsHandler(hints -> {
                creq.idleTimeout(idle);
                listener.earlyHints(hints);
            });
            boolean reused = !fresh && upstream.markUsed(creq.connection());
            Authority a = out.authority(); // normalized; absolute-form's replaces Host
            if (a != null) {
                creq.authority(HostAndPort.create(a.host(), a.port()));
            }
            Body body = out.body();
            if (body == Body.EMPTY) {
                if (out.method() == HttpMethod.POST || out.method() == HttpMethod.PUT) {
                    creq.putHeader("Content-Length", "0");
                }
            } else if (body.length() >= 0) {
                creq.putHeader("Content-Length", Long.toString(body.length()));
            } else {
                creq.setChunked(true);
            }
            creq.response().onComplete(rar -> {
                if (rar.failed()) {
                    listener.failed(rar.cause(), reused);
                } else {
                    listener.head(new Response(rar.result()));
                }
            });
            body.writeTo(vertx, creq);
        });
        return attempt;
    }

    private static final class VertxAttempt implements Attempt {
        private boolean aborted;
        private HttpClientRequest request;

        @Override
        public void abort() {
            aborted = true;
            if (request != null) {
                request.reset();
            }
        }
    }

    /** A thin view: no copies, the calls go straight to Vert.x's response (reads stamped for upstream_read). */
    private static final class Response implements UpstreamResponse {
        private final HttpClientResponse r;
        private final ReadWatch watch;

        Response(HttpClientResponse r) {
            this.r = r;
            this.watch = new ReadWatch((ContextInternal) Vertx.currentContext());
        }

        @Override
        public int status() {
            return r.statusCode();
        }

        @Override
        public String statusMessage() {
            return r.statusMessage();
        }

        @Override
        public MultiMap headers() {
            return r.headers();
        }

        @Override
        public MultiMap trailers() {
            return r.trailers();
        }

        @Override
        public void handler(Handler<Buffer> chunk) {
            r.handler(chunk == null ? null : b -> {
                watch.read();
                chunk.handle(b);
            });
        }

        @Override
        public void endHandler(Handler<Buffer> end) {
            r.endHandler(v -> {
                watch.stop();
                if (end != null) {
                    end.handle(null);
                }
            });
        }

        @Override
        public void exceptionHandler(Handler<Throwable> error) {
            r.exceptionHandler(t -> {
                watch.stop();
                if (error != null) {
                    error.handle(t);
                }
            });
        }

        @Override
        public void pause() {
            watch.pause();
            r.pause();
        }

        @Override
        public void resume() {
            watch.resume();
            r.resume();
        }

        @Override
        public void watchReads(long idleMs, Runnable onSilence) {
            watch.start(idleMs, onSilence);
        }

        @Override
        public void discard() {
            r.body(); // read to the end so the pooled connection can be reused
        }

        @Override
        public void abort() {
            watch.stop();
            r.handler(null);
            r.endHandler(null);
            r.exceptionHandler(null);
            r.request().reset(); // on HTTP/1.1 this closes the connection: it goes back to no pool
        }
    }
}
