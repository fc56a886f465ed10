package io.tiergate.proxy.forward;

import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoop;
import io.netty.handler.codec.http.DefaultFullHttpRequest;
import io.netty.handler.codec.DefaultHeaders;
import io.netty.handler.codec.http.DefaultHttpHeaders;
import io.netty.handler.codec.http.DefaultHttpHeadersFactory;
import io.netty.handler.codec.http.EmptyHttpHeaders;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpDecoderConfig;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpHeadersFactory;
import io.netty.handler.codec.http.HttpObject;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.ScheduledFuture;
import io.tiergate.proxy.config.UpstreamConfig;
import io.tiergate.proxy.request.Authority;
import io.tiergate.proxy.upstream.Peer;
import io.tiergate.shared.runtime.LoopClock;
import io.vertx.core.Handler;
import io.vertx.core.MultiMap;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClosedException;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.impl.headers.HeadersAdaptor;
import io.vertx.core.http.impl.headers.Http1xHeaders;
import io.vertx.core.internal.ContextInternal;
import io.vertx.core.internal.VertxInternal;
import io.vertx.core.internal.buffer.BufferInternal;

import java.net.InetSocketAddress;
import java.util.ArrayDeque;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * The cheap path to a plain HTTP/1.1 upstream: Netty channels with {@link OriginCodec}, pooled per event loop and
 * per server (nginx's per-worker {@code keepalive}), so a request, its upstream connection and its response all stay
 * on the client connection's thread. The request head is the exchange's header map as is (built once, no copy), and
 * the response streams into the client's response with back-pressure. {@link UpstreamGuard} sits on every connection
 * as on Vert.x's. Only buffered bodies come here (they can be written whole and re-sent); TLS, HTTP/2 and streamed
 * bodies go through {@link VertxSender}.
 *
 * <p>{@code max_connections_per_server} is per event loop, as with the Vert.x pools; a request beyond it waits for a
 * connection for up to its connect timeout. Idle connections are closed after the group's {@code keepalive_timeout}.
 */
final class NettySender implements UpstreamSender {
    /**
     * The origin's response head is decoded straight into Vert.x's header map (validated as the server's request heads
     * are), which is also a Netty {@link HttpHeaders}: no adaptor, and {@link Headers#copyEndToEnd} copies it into the
     * client's response as the decoder's {@code AsciiString}s, without a String per name and value.
     */
    private static final HttpHeadersFactory RESPONSE_HEADS = new HttpHeadersFactory() {
        @Override
        public HttpHeaders newHeaders() {
            return Http1xHeaders.httpHeaders();
        }

        @Override
        public HttpHeaders newEmptyHeaders() {
            return Http1xHeaders.httpHeaders();
        }
    };

    /**
     * Trailers the same way: a response's end carries a trailer map even when the origin sent none (every
     * Content-Length response), and Netty's own allocates its hash table at once; Vert.x's allocates it on the first
     * field. The checks are Netty's trailer checks (names and values, and no Content-Length, Transfer-Encoding or
     * Trailer among trailers).
     */
    private static final HttpHeadersFactory TRAILERS = new HttpHeadersFactory() {
        private final DefaultHeaders.NameValidator<CharSequence> names =
                DefaultHttpHeadersFactory.trailersFactory().getNameValidator();
        private final DefaultHeaders.ValueValidator<CharSequence> values =
                DefaultHttpHeadersFactory.trailersFactory().getValueValidator();
        private final java.util.function.BiConsumer<CharSequence, CharSequence> check = (n, v) -> {
            names.validateName(n);
            values.validate(v);
        };

        @Override
        public HttpHeaders newHeaders() {
            return Http1xHeaders.httpHeaders(check);
        }

        @Override
        public HttpHeaders newEmptyHeaders() {
            return Http1xHeaders.httpHeaders(check);
        }
    };

    private final VertxInternal vertx;
    private final UpstreamConfig config;
    private final Map<EventLoop, Map<String, Pool>> pools = new ConcurrentHashMap<>();
    private volatile boolean closed;

    NettySender(Vertx vertx, UpstreamConfig config) {
        this.vertx = (VertxInternal) vertx;
        this.config = config;
    }

    /** Whether a request to {@code group} with {@code body} can take this path. */
    static boolean supports(UpstreamConfig group, Body body) {
        return group.tls() == null && !group.protocol().http2() && body instanceof Body.Memory;
    }

    @Override
    public Attempt send(Outbound out, Peer peer, boolean fresh, Listener listener) {
        ContextInternal context = (ContextInternal) vertx.getOrCreateContext();
        Call call = new Call(context, out, listener);
        EventLoop loop = context.nettyEventLoop();
        Pool pool = pools.computeIfAbsent(loop, l -> new ConcurrentHashMap<>())
                .computeIfAbsent(peer.key(), k -> new Pool(loop, peer.config().address().host(),
                        peer.config().address().port()));
        if (loop.inEventLoop()) {
            pool.start(call, fresh);
        } else {
            loop.execute(() -> pool.start(call, fresh));
        }
        return call;
    }

    /** Closes every idle connection; busy ones close when their response ends. */
    void close() {
        closed = true;
        pools.forEach((loop, byServer) -> loop.execute(() -> byServer.values().forEach(Pool::closeIdle)));
    }

    /** The connections of one event loop to one server. Only ever touched on that loop. */
    private final class Pool {
        private final EventLoop loop;
        private final Bootstrap bootstrap;
        private final ArrayDeque<Conn> idle = new ArrayDeque<>();
        private final ArrayDeque<Call> waiting = new ArrayDeque<>();
        private int open; // connecting, busy or idle
        private ScheduledFuture<?> cleaner;

        Pool(EventLoop loop, String host, int port) {
            this.loop = loop;
            this.bootstrap = new Bootstrap().group(loop)
                    .channelFactory(vertx.transport().channelFactory(false))
                    .option(ChannelOption.TCP_NODELAY, true)
                    .remoteAddress(new InetSocketAddress(host, port))
                    .handler(new ChannelInitializer<Channel>() {
                        @Override
                        protected void initChannel(Channel ch) {
                            var p = ch.pipeline();
                            p.addLast("codec", new OriginCodec(new HttpDecoderConfig()
                                    .setMaxInitialLineLength(4096).setMaxHeaderSize(8192).setMaxChunkSize(8192)
                                    .setHeadersFactory(RESPONSE_HEADS).setTrailersFactory(TRAILERS)));
                            Conn conn = new Conn(Pool.this, ch);
                            p.addLast("handler", conn);
                            conn.guard = UpstreamGuard.install(p);
                        }
                    });
        }

        void start(Call call, boolean fresh) {
            if (fresh) {
                connect(call, false);
            } else {
                acquire(call);
            }
        }

        void acquire(Call call) {
            if (call.aborted) {
                call.listener.aborted();
                return;
            }
            Conn c;
            long now = LoopClock.nanoTime();
            while ((c = idle.pollFirst()) != null) {
                if (c.channel.isActive() && now - c.idleSince < config.keepaliveTimeout().toNanos()) {
                    c.start(call);
                    return;
                }
                c.channel.close();
            }
            if (open < config.maxConnectionsPerServer()) {
                connect(call, true);
                return;
            }
            call.waitUntil = now + TimeUnit.MILLISECONDS.toNanos(call.out.bounded(call.out.connectTimeoutMs()));
            waiting.add(call);
            armWait(call.waitUntil, now);
        }

        /*
         * The wait for a free connection (max_connections_per_server), one timer per pool rather than one per waiting
         * request: with 1,000 clients on a pool of 128, scheduling and cancelling a timer per request was a tenth of
         * the proxy's CPU (the scheduler's priority queue). Taking a waiter off the queue leaves the timer alone; when
         * it fires it fails the waiters whose time is up and re-arms for the earliest one left.
         */
        private ScheduledFuture<?> waitTimer;
        private long waitTimerAt;

        private void armWait(long deadline, long now) {
            if (waitTimer != null && deadline - waitTimerAt >= 0) {
                return; // armed for this deadline or an earlier one
            }
            if (waitTimer != null) {
                waitTimer.cancel(false);
            }
            waitTimerAt = deadline;
            waitTimer = loop.schedule(this::expireWaiters, Math.max(1, deadline - now), TimeUnit.NANOSECONDS);
        }

        private void expireWaiters() {
            waitTimer = null;
            long now = LoopClock.nanoTime();
            for (java.util.Iterator<Call> it = waiting.iterator(); it.hasNext(); ) {
                Call w = it.next();
                if (w.waitUntil - now > 0) {
                    armWait(w.waitUntil, now); // ends armed for the earliest deadline left
                    continue;
                }
                it.remove();
                if (w.aborted) {
                    w.context.dispatch(() -> w.listener.aborted());
                } else {
                    w.context.dispatch(() -> w.listener.connectFailed(new io.netty.channel.ConnectTimeoutException(
                            "no free connection to the server within " + w.out.connectTimeoutMs()
                                    + " ms (max_connections_per_server)")));
                }
            }
        }

        void connect(Call call, boolean pooled) {
            open++;
            Bootstrap b = bootstrap.clone().option(ChannelOption.CONNECT_TIMEOUT_MILLIS,
                    (int) Math.min(Integer.MAX_VALUE, call.out.bounded(call.out.connectTimeoutMs())));
            b.connect().addListener((ChannelFutureListener) f -> {
                if (!f.isSuccess()) {
                    open--;
                    call.context.dispatch(() -> call.listener.connectFailed(f.cause()));
                    next();
                    return;
                }
                Conn c = (Conn) f.channel().pipeline().get("handler");
                c.pooled = pooled;
                if (call.aborted) {
                    release(c);
                    call.context.dispatch(() -> call.listener.aborted());
                    return;
                }
                c.start(call);
            });
        }

        /** A response ended cleanly on {@code c}: it serves the next waiting request or waits for one. */
        void release(Conn c) {
            if (!c.pooled || closed || !c.channel.isActive()) {
                c.channel.close();
                return;
            }
            Call w;
            while ((w = waiting.pollFirst()) != null) {
                if (!w.aborted) {
                    c.start(w);
                    return;
                }
                Call gone = w;
                w.context.dispatch(() -> gone.listener.aborted());
            }
            c.idleSince = LoopClock.nanoTime();
            idle.addFirst(c); // most recently used first: the others age out
            if (cleaner == null) {
                long period = Math.max(1000, config.keepaliveTimeout().toMillis() / 2);
                cleaner = loop.scheduleAtFixedRate(this::expire, period, period, TimeUnit.MILLISECONDS);
            }
        }

        private void expire() {
            long limit = config.keepaliveTimeout().toNanos();
            long now = LoopClock.nanoTime();
            idle.removeIf(c -> {
                boolean old = now - c.idleSince >= limit;
                if (old) {
                    c.channel.close();
                }
                return old;
            });
            if (idle.isEmpty() && cleaner != null) {
                cleaner.cancel(false);
                cleaner = null;
            }
        }

        void closed(Conn c) {
            open--;
            idle.remove(c);
            c.closed();
            next();
        }

        /** A connection slot came free: a waiting request may open one. */
        private void next() {
            Call w;
            while (open < config.maxConnectionsPerServer() && (w = waiting.pollFirst()) != null) {
                if (w.aborted) {
                    Call gone = w;
                    w.context.dispatch(() -> gone.listener.aborted());
                    continue;
                }
                connect(w, true);
            }
        }

        void closeIdle() {
            Conn c;
            while ((c = idle.pollFirst()) != null) {
                c.channel.close();
            }
        }
    }

    /** One upstream connection; carries one request at a time. */
    private final class Conn extends ChannelInboundHandlerAdapter {
        private final Pool pool;
        private final Channel channel;
        private boolean pooled; // false: a fresh connection for one request, closed after it
        private UpstreamGuard guard;
        private long idleSince;
        private int uses;
        private Call call;
        private boolean skipEnd; // the next LastHttpContent ends an interim (1xx) response
        // The read timeout, lazily: a request or a read only moves the deadline (0: none); the one timer re-arms
        // itself when it fires early, so a busy kept-alive connection schedules no timer per request.
        private long deadline;
        private long timerAt;
        private ScheduledFuture<?> timer;

        /** The call fails (or its body watch fires) unless a byte arrives within {@code nanos}. */
        void watch(long nanos) {
            long now = LoopClock.nanoTime();
            deadline = now + nanos;
            if (timer != null && timerAt - deadline > 0) {
                timer.cancel(false); // pending, but later than the new deadline
                timer = null;
            }
            if (timer == null) {
                schedule(now, deadline);
            }
        }

        void unwatch() {
            deadline = 0;
        }

        private void schedule(long now, long at) {
            timerAt = at;
            timer = channel.eventLoop().schedule(this::fire, Math.max(1, at - now), TimeUnit.NANOSECONDS);
        }

        private void fire() {
            timer = null;
            Call c = call;
            if (deadline == 0 || c == null) {
                return;
            }
            long now = LoopClock.nanoTime();
            if (now - deadline < 0) {
                schedule(now, deadline);
                return;
            }
            deadline = 0;
            c.silent();
        }

        Conn(Pool pool, Channel channel) {
            this.pool = pool;
            this.channel = channel;
        }

        void start(Call c) {
            if (!channel.config().isAutoRead()) {
                channel.config().setAutoRead(true); // the last response ended while its client was slow
            }
            call = c;
            c.conn = this;
            c.reused = uses++ > 0;
            c.write();
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            Call c = call;
            if (c == null || !(msg instanceof HttpObject)) {
                ReferenceCountUtil.release(msg);
                return;
            }
            c.received((HttpObject) msg);
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            // After the codec: a body that ends with the connection has been delivered by now.
            pool.closed(this);
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            Call c = call;
            if (c != null) {
                c.broken(cause);
            }
            ctx.close();
        }

        /** The response on this connection ended: back to the pool, or closed. */
        void done(boolean keepAlive) {
            call = null;
            if (keepAlive) {
                pool.release(this);
            } else {
                channel.close();
            }
        }

        void closed() {
            Call c = call;
            call = null;
            if (c != null) {
                c.broken(new HttpClosedException("Connection was closed"));
            }
        }
    }

    private static final Handler<Buffer> DROP = b -> {
    };

    /** One request on its way, then its response as the exchange reads it. */
    private static final class Call implements Attempt, UpstreamResponse {
        private final ContextInternal context;
        private final Outbound out;
        private final Listener listener;
        private Conn conn;
        private boolean reused;
        private boolean aborted;
        private boolean headSeen;
        private boolean ended;
        private long waitUntil; // LoopClock.nanoTime() by which a pooled connection must be free (see Pool.armWait)
        private Runnable onSilence; // the body's upstream_read action
        private long bodyIdleNanos;
        private HttpResponse head;
        private MultiMap headers;
        private MultiMap trailers = EMPTY;
        private Handler<Buffer> chunkHandler = DROP;
        private Handler<Buffer> endHandler;
        private Handler<Throwable> errorHandler;
        private ArrayDeque<HttpObject> paused; // non-null while paused: what was decoded but not delivered

        Call(ContextInternal context, Outbound out, Listener listener) {
            this.context = context;
            this.out = out;
            this.listener = listener;
        }

        void write() {
            HttpHeaders h = nettyHeaders(out.headers());
            Authority a = out.authority();
            Channel ch = conn.channel;
            h.set(HttpHeaderNames.HOST, a != null ? (a.port() == 80 ? a.host() : a.text()) : hostField(
                    ((InetSocketAddress) ch.remoteAddress()).getHostString(),
                    ((InetSocketAddress) ch.remoteAddress()).getPort()));
            Body.Memory body = (Body.Memory) out.body();
            int length = body.data().length();
            if (length > 0 || out.method() == HttpMethod.POST || out.method() == HttpMethod.PUT) {
                h.set(HttpHeaderNames.CONTENT_LENGTH, Integer.toString(length));
            }
            var content = length == 0 ? Unpooled.EMPTY_BUFFER : Unpooled.wrappedBuffer(body.data().getBytes());
            var req = new DefaultFullHttpRequest(HttpVersion.HTTP_1_1,
                    io.netty.handler.codec.http.HttpMethod.valueOf(out.method().name()), out.uri(), content, h,
                    EmptyHttpHeaders.INSTANCE);
            if (conn.guard != null) {
                conn.guard.onInterim(alive); // the guard found once per connection, not looked up per request
            }
            watchHead();
            ch.writeAndFlush(req, ch.voidPromise());
        }

        /** Vert.x's header maps are Netty's too: sent as they are, no copy. */
        private static HttpHeaders nettyHeaders(MultiMap m) {
            if (m instanceof HttpHeaders h) {
                return h;
            }
            HttpHeaders h = new DefaultHttpHeaders();
            m.forEach(e -> h.add(e.getKey(), e.getValue()));
            return h;
        }

        /** As Vert.x writes it: the port only when it is not 80. */
        private static String hostField(String host, int port) {
            return port < 0 || port == 80 ? host : host + ":" + port;
        }

        /** Until the head: the read timeout (each interim response restarts it). */
        private final Runnable alive = this::watchHead; // an interim response's sign of life, made once per call

        private void watchHead() {
            if (conn != null) {
                conn.watch(TimeUnit.MILLISECONDS.toNanos(out.bounded(out.readTimeoutMs())));
            }
        }

        /** The connection's read timeout ran out. */
        void silent() {
            Conn c = conn;
            if (!headSeen || onSilence == null) {
                long ms = headSeen ? bodyIdleNanos / 1_000_000 : out.bounded(out.readTimeoutMs());
                broken(new TimeoutException("no byte from the upstream for " + ms + " ms"));
                if (c != null) {
                    c.channel.close();
                }
                return;
            }
            Runnable r = onSilence;
            onSilence = null;
            ContextInternal prev = context.beginDispatch();
            try {
                r.run();
            } finally {
                context.endDispatch(prev);
            }
        }

        void received(HttpObject msg) {
            if (aborted) {
                ReferenceCountUtil.release(msg);
                return;
            }
            if (msg.decoderResult().isFailure()) {
                ReferenceCountUtil.release(msg);
                Conn c = conn;
                broken(msg.decoderResult().cause());
                c.channel.close();
                return;
            }
            if (paused != null) {
                paused.add(msg);
                return;
            }
            ContextInternal prev = context.beginDispatch();
            try {
                deliver(msg);
            } finally {
                context.endDispatch(prev);
            }
        }

        private void deliver(HttpObject msg) {
            if (msg instanceof HttpResponse r) {
                int code = r.status().code();
                if (code >= 100 && code < 200 && code != 101) {
                    conn.skipEnd = true;
                    watchHead(); // a sign of life
                    if (code == 103) {
                        listener.earlyHints(new HeadersAdaptor(r.headers()));
                    }
                } else {
                    conn.unwatch(); // the exchange decides about the body's clock (watchReads)
                    headSeen = true;
                    head = r;
                    headers = r.headers() instanceof MultiMap m ? m : new HeadersAdaptor(r.headers());
                    listener.head(this);
                }
            }
            if (msg instanceof HttpContent content) {
                boolean last = msg instanceof LastHttpContent;
                if (last && conn.skipEnd) {
                    conn.skipEnd = false;
                    content.release();
                    return;
                }
                Buffer lastBytes = null;
                if (content.content().isReadable() && !aborted) {
                    if (last && endHandler != null) {
                        lastBytes = BufferInternal.safeBuffer(content.content()); // goes out with the end
                    } else {
                        if (onSilence != null && paused == null) {
                            conn.watch(bodyIdleNanos);
                        }
                        chunkHandler.handle(BufferInternal.safeBuffer(content.content()));
                    }
                } else {
                    content.release();
                }
                if (last && !aborted) {
                    LastHttpContent lc = (LastHttpContent) msg;
                    if (!lc.trailingHeaders().isEmpty()) {
                        trailers = new HeadersAdaptor(lc.trailingHeaders());
                    }
                    ended = true;
                    onSilence = null;
                    Conn c = conn;
                    conn = null;
                    c.unwatch();
                    c.done(c.pooled && HttpUtil.isKeepAlive(head));
                    if (endHandler != null) {
                        endHandler.handle(lastBytes);
                    }
                }
            }
        }

        /** The connection failed under this call. */
        void broken(Throwable cause) {
            onSilence = null;
            Conn c = conn;
            conn = null;
            if (c != null && c.call == this) {
                c.call = null;
                c.unwatch();
            }
            if (aborted || ended) {
                return;
            }
            ended = true;
            ContextInternal prev = context.beginDispatch();
            try {
                if (!headSeen) {
                    listener.failed(cause, reused);
                } else if (errorHandler != null) {
                    errorHandler.handle(cause);
                }
            } finally {
                context.endDispatch(prev);
            }
        }

        @Override
        public void abort() {
            if (aborted || ended) {
                return;
            }
            aborted = true;
            onSilence = null;
            Conn c = conn;
            if (c != null) {
                conn = null;
                c.call = null;
                c.unwatch();
                c.channel.close();
                if (!headSeen) {
                    listener.aborted();
                }
            }
            // not connected yet: the pool sees the flag and calls aborted() when it would have started
        }

        @Override
        public int status() {
            return head.status().code();
        }

        @Override
        public String statusMessage() {
            return head.status().reasonPhrase();
        }

        @Override
        public MultiMap headers() {
            return headers;
        }

        @Override
        public MultiMap trailers() {
            return trailers;
        }

        @Override
        public void handler(Handler<Buffer> chunk) {
            chunkHandler = chunk == null ? DROP : chunk;
        }

        @Override
        public void endHandler(Handler<Buffer> end) {
            endHandler = end;
        }

        @Override
        public void exceptionHandler(Handler<Throwable> error) {
            errorHandler = error;
        }

        @Override
        public void pause() {
            if (paused == null && conn != null) {
                paused = new ArrayDeque<>();
                conn.unwatch(); // a slow client is not a silent upstream
                conn.channel.config().setAutoRead(false);
            }
        }

        @Override
        public void resume() {
            ArrayDeque<HttpObject> q = paused;
            if (q == null) {
                return;
            }
            paused = null;
            Conn c = conn;
            HttpObject m;
            while (paused == null && (m = q.pollFirst()) != null) {
                received(m);
            }
            if (paused != null) {
                paused.addAll(q); // paused again while delivering: keep the order
                return;
            }
            if (c != null && c.channel.isActive()) {
                if (onSilence != null) {
                    c.watch(bodyIdleNanos);
                }
                c.channel.config().setAutoRead(true);
                c.channel.read();
            }
        }

        @Override
        public void watchReads(long idleMs, Runnable silence) {
            onSilence = silence;
            bodyIdleNanos = TimeUnit.MILLISECONDS.toNanos(idleMs);
            if (conn != null && paused == null) {
                conn.watch(bodyIdleNanos);
            }
        }

        @Override
        public void discard() {
            chunkHandler = DROP;
            endHandler = null;
            errorHandler = null;
            onSilence = null;
            watchHead(); // draining a stalled body must not hold the connection for ever: silent() closes it
        }
    }

    private static final MultiMap EMPTY = MultiMap.caseInsensitiveMultiMap();
}
