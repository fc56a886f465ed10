import io.netty.bootstrap.Bootstrap;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.*;
import io.netty.channel.epoll.*;
import io.netty.handler.codec.http.*;
import io.netty.util.AsciiString;
import java.net.InetSocketAddress;
import java.util.ArrayDeque;
import java.util.concurrent.ThreadLocalRandom;

/**
 * A floor for bench/efficiency.sh (FLOOR=1): the least a Netty HTTP/1.1 reverse proxy does per request, with the
 * header work of Tiergate's defaults (X-Forwarded-*, Forwarded, Via, X-Request-Id up; Via, X-Request-Id down), one
 * event loop, a keep-alive upstream pool, and nothing else: no routing, request normalization, timeouts, limits,
 * metrics or error handling. GET without a body only; not a product, a measuring stick for what Netty on this JVM
 * costs before any feature. Usage: java -cp tiergate.jar:DIR NettyFloor LISTEN_PORT ORIGIN_PORT [event loops=1]
 * [transport=epoll|io_uring] (io_uring needs netty-transport-{classes,native}-io_uring on the class path).
 */
public class NettyFloor {
    static final AsciiString XFF = AsciiString.cached("X-Forwarded-For"), XRI = AsciiString.cached("X-Real-IP"),
            XFP = AsciiString.cached("X-Forwarded-Proto"), XFH = AsciiString.cached("X-Forwarded-Host"),
            FWD = AsciiString.cached("Forwarded"), VIA = AsciiString.cached("Via"), RID = AsciiString.cached("X-Request-Id");
    static InetSocketAddress origin;
    static Class<? extends ServerChannel> server;
    static Class<? extends Channel> client;

    public static void main(String[] a) throws Exception {
        int port = Integer.parseInt(a[0]);
        origin = new InetSocketAddress("127.0.0.1", Integer.parseInt(a[1]));
        boolean uring = a.length > 3 && a[3].equals("io_uring");
        IoHandlerFactory io = uring ? (IoHandlerFactory) Class.forName("io.netty.channel.uring.IoUringIoHandler")
                .getMethod("newFactory").invoke(null) : EpollIoHandler.newFactory();
        server = uring ? Class.forName("io.netty.channel.uring.IoUringServerSocketChannel").asSubclass(ServerChannel.class)
                : EpollServerSocketChannel.class;
        client = uring ? Class.forName("io.netty.channel.uring.IoUringSocketChannel").asSubclass(Channel.class)
                : EpollSocketChannel.class;
        EventLoopGroup g = new MultiThreadIoEventLoopGroup(Integer.parseInt(a.length > 2 ? a[2] : "1"), io);
        new ServerBootstrap().group(g).channel(server)
                .option(ChannelOption.SO_BACKLOG, 4096)
                .childHandler(new ChannelInitializer<Channel>() {
                    protected void initChannel(Channel ch) {
                        ch.pipeline().addLast(new HttpServerCodec(), new Front());
                    }
                }).bind(port).sync();
        System.out.println("listening " + port + " on " + (uring ? "io_uring" : "epoll"));
    }

    static final class Pool { final ArrayDeque<Channel> idle = new ArrayDeque<>(); }
    static final io.netty.util.concurrent.FastThreadLocal<Pool> POOL = new io.netty.util.concurrent.FastThreadLocal<>() {
        protected Pool initialValue() { return new Pool(); }
    };

    static final class Front extends ChannelInboundHandlerAdapter {
        Channel up; Back back; boolean keepAlive, ended;
        @Override public void channelRead(ChannelHandlerContext ctx, Object msg) {
            if (msg instanceof HttpRequest r) {
                keepAlive = HttpUtil.isKeepAlive(r);
                HttpHeaders h = r.headers();
                h.remove(HttpHeaderNames.CONNECTION); h.remove(HttpHeaderNames.KEEP_ALIVE);
                String peer = ((InetSocketAddress) ctx.channel().remoteAddress()).getAddress().getHostAddress();
                String host = h.get(HttpHeaderNames.HOST);
                h.set(XFF, peer); h.set(XRI, peer); h.set(XFP, "http");
                if (host != null) h.set(XFH, host);
                h.set(FWD, "for=" + peer + ";proto=http" + (host == null ? "" : ";host=" + host));
                h.set(VIA, "1.1 floor");
                String id = rid(); h.set(RID, id);
                r.setProtocolVersion(HttpVersion.HTTP_1_1);
                ended = false;
                send(ctx, r, id);
            } else if (msg instanceof HttpContent c) { // GET only in this spike: the body is the empty last content
                c.release();
                if (msg instanceof LastHttpContent) {
                    ended = true;
                    if (up != null) up.writeAndFlush(LastHttpContent.EMPTY_LAST_CONTENT, up.voidPromise());
                }
            }
        }
        void send(ChannelHandlerContext ctx, HttpRequest r, String id) {
            Pool p = POOL.get();
            Channel u = p.idle.pollFirst();
            while (u != null && !u.isActive()) u = p.idle.pollFirst();
            if (u != null) { attach(ctx, u, r, id); return; }
            new Bootstrap().group(ctx.channel().eventLoop()).channel(client)
                    .handler(new ChannelInitializer<Channel>() {
                        protected void initChannel(Channel ch) { ch.pipeline().addLast(new HttpClientCodec(), new Back()); }
                    }).connect(origin).addListener((ChannelFuture f) -> {
                        if (f.isSuccess()) attach(ctx, f.channel(), r, id); else ctx.close();
                    });
        }
        void attach(ChannelHandlerContext ctx, Channel u, HttpRequest r, String id) {
            up = u; back = u.pipeline().get(Back.class); back.front = ctx.channel(); back.owner = this; back.rid = id;
            u.write(r, u.voidPromise());
            if (ended) u.writeAndFlush(LastHttpContent.EMPTY_LAST_CONTENT, u.voidPromise());
        }
    }

    static final class Back extends ChannelInboundHandlerAdapter {
        Channel front; Front owner; String rid;
        @Override public void channelRead(ChannelHandlerContext ctx, Object msg) {
            if (msg instanceof HttpResponse r) {
                HttpHeaders h = r.headers();
                h.remove(HttpHeaderNames.CONNECTION); h.remove(HttpHeaderNames.KEEP_ALIVE);
                h.set(VIA, "1.1 floor"); h.set(RID, rid);
                if (!owner.keepAlive) h.set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
            }
            if (msg instanceof HttpObject) front.write(msg, front.voidPromise());
            if (msg instanceof LastHttpContent) {
                front.flush();
                Channel f = front; boolean ka = owner.keepAlive;
                owner.up = null; front = null; owner = null;
                POOL.get().idle.addFirst(ctx.channel());
                if (!ka) f.close();
            }
        }
    }

    static String rid() {
        ThreadLocalRandom r = ThreadLocalRandom.current();
        return Long.toHexString(r.nextLong() | Long.MIN_VALUE) + Long.toHexString(r.nextLong() | Long.MIN_VALUE);
    }
}
