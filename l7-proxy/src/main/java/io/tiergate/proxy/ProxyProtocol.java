package io.tiergate.proxy;

import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.util.AttributeKey;
import io.netty.util.NetUtil;
import io.tiergate.proxy.config.ListenerConfig;
import io.vertx.core.http.HttpConnection;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.net.SocketAddress;
import io.vertx.core.net.impl.ConnectionBase;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.nio.charset.StandardCharsets;

/**
 * PROXY protocol v1/v2 on a listener, decoded by Tiergate itself rather than by Vert.x's {@code setUseProxyProtocol}.
 *
 * <p>Why not Vert.x's: with it, request bytes that arrived in the same TCP segment as the PROXY header were sometimes
 * never dispatched (branch {@code proxy-protocol-wip}), and its "connection" appears only after the header, so a peer
 * outside the trusted sources could not be refused before its first request was parsed.
 *
 * <p>How: {@link AcceptHook} sees each accepted socket before Vert.x sets its pipeline up (and before the TLS handshake
 * on a TLS listener). It first checks the real TCP peer against {@code trusted} and closes the socket at once, before
 * it is even registered for reading, when it is outside. Otherwise it puts {@link Decoder} at the head of the pipeline,
 * in front of Vert.x's SslHandler or HTTP decoder. The decoder accumulates bytes until the header is complete, records
 * the client address, removes itself and passes the bytes that followed the header (a coalesced request or TLS
 * ClientHello) on with {@code fireChannelRead} — nothing is left behind in a removed handler. A malformed or
 * unsupported header closes the channel. The slowloris guard's {@code client_header} deadline, armed at the same moment,
 * also bounds the time to send the PROXY header.
 *
 * <p>Defence in depth: {@link #admitted} is checked again in the request handler (real peer trusted and header
 * decoded), and a request that fails it closes the channel without an answer.
 */
public final class ProxyProtocol {
    static final String NAME = "tiergateProxyProtocol";
    /** The client address the PROXY header named (the real peer for LOCAL / UNKNOWN headers). */
    static final AttributeKey<String> CLIENT = AttributeKey.valueOf("tiergate.proxyProtocol.client");
    /** v2 header: 16 bytes + at most 65535 of addresses and TLVs. v1: at most 107 bytes. */
    private static final int V1_MAX = 107;
    private static final byte[] V2_SIG = {0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A};
    private static final byte[] V1_SIG = "PROXY ".getBytes(StandardCharsets.US_ASCII);

    private ProxyProtocol() {
    }

    /**
     * The connection handler's check, after {@link AcceptHook#admit} (which closed any connection the hook did not
     * see): the peer is trusted. Otherwise the connection is closed at once and false returned.
     */
    static boolean accepted(HttpConnection conn, ListenerConfig.ProxyProtocol pp) {
        if (!(conn instanceof ConnectionBase base)) {
            conn.close();
            return false;
        }
        Channel ch = base.channel();
        if (!pp.trusts(peerIp(ch))) {
            ch.close();
            return false;
        }
        return true;
    }

    /**
     * The request's connection comes from a trusted peer and its PROXY header was decoded. Checked again per request
     * so that nothing from an untrusted peer can be served, whatever happened at accept.
     */
    public static boolean admitted(HttpServerRequest req, ListenerConfig.ProxyProtocol pp) {
        Channel ch = channel(req);
        return ch != null && ch.attr(CLIENT).get() != null && pp.trusts(peerIp(ch));
    }

    /** Closes the request's connection without an answer. */
    public static void refuse(HttpServerRequest req) {
        Channel ch = channel(req);
        if (ch != null) {
            ch.close();
        } else {
            req.connection().close();
        }
    }

    /**
     * The client address for $remote_addr, X-Forwarded-For, the access log and hash keys: the PROXY header's source on
     * a PROXY listener, else the TCP peer; "-" when unknown.
     */
    public static String clientIp(HttpServerRequest req) {
        Channel ch = channel(req);
        String ip = ch == null ? null : ch.attr(CLIENT).get();
        if (ip == null && ch != null) {
            ip = peerIp(ch);
        }
        if (ip == null) {
            SocketAddress a = req.remoteAddress();
            ip = a == null ? null : a.hostAddress();
        }
        return ip == null ? "-" : ip;
    }

    static Channel channel(HttpServerRequest req) {
        HttpConnection c = req.connection();
        return c instanceof ConnectionBase base ? base.channel() : null;
    }

    /**
     * The TCP peer as text, formatted once per connection (its address never changes): this is read on every request
     * (the client address, the PROXY trust check), and formatting it each time showed in profiles.
     */
    static String peerIp(Channel ch) {
        String ip = ch.attr(PEER_TEXT).get();
        if (ip == null && ch.remoteAddress() instanceof InetSocketAddress isa && isa.getAddress() != null) {
            ip = isa.getAddress().getHostAddress();
            ch.attr(PEER_TEXT).set(ip);
        }
        return ip;
    }

    private static final AttributeKey<String> PEER_TEXT = AttributeKey.valueOf("tiergate.peerText");

    /** Parsed header: source address and port, or null address for LOCAL / UNKNOWN (use the real peer). */
    record Header(String address, int port) {
    }

    /** Thrown for a header that is not, or not yet known to be, valid PROXY protocol. */
    static final class BadHeader extends Exception {
        BadHeader(String message) {
            super(message, null, false, false);
        }
    }

    /**
     * Parses a PROXY header at the start of {@code in} (reader index). Returns null when more bytes are needed; on
     * success the reader index is moved past the header.
     */
    static Header parse(ByteBuf in) throws BadHeader {
        int n = in.readableBytes();
        if (n == 0) {
            return null;
        }
        int start = in.readerIndex();
        byte first = in.getByte(start);
        if (first == 'P') {
            for (int i = 0; i < Math.min(n, V1_SIG.length); i++) {
                if (in.getByte(start + i) != V1_SIG[i]) {
                    throw new BadHeader("not a PROXY header");
                }
            }
            int lf = -1;
            for (int i = 0; i < Math.min(n, V1_MAX); i++) {
                if (in.getByte(start + i) == '\n') {
                    lf = i;
                    break;
                }
            }
            if (lf < 0) {
                if (n >= V1_MAX) {
                    throw new BadHeader("PROXY v1 line longer than 107 bytes");
                }
                return null;
            }
            if (lf == 0 || in.getByte(start + lf - 1) != '\r') {
                throw new BadHeader("PROXY v1 line not ended by CRLF");
            }
            String line = in.toString(start, lf - 1, StandardCharsets.US_ASCII);
            in.readerIndex(start + lf + 1);
            return parseV1(line);
        }
        if (first == V2_SIG[0]) {
            for (int i = 0; i < Math.min(n, V2_SIG.length); i++) {
                if (in.getByte(start + i) != V2_SIG[i]) {
                    throw new BadHeader("not a PROXY header");
                }
            }
            if (n < 16) {
                return null;
            }
            int verCmd = in.getUnsignedByte(start + 12);
            int fam = in.getUnsignedByte(start + 13);
            int len = in.getUnsignedShort(start + 14);
            if ((verCmd >> 4) != 2) {
                throw new BadHeader("PROXY v2 with version " + (verCmd >> 4));
            }
            int cmd = verCmd & 0x0F;
            if (cmd > 1) {
                throw new BadHeader("PROXY v2 with unknown command " + cmd);
            }
            if (n < 16 + len) {
                return null;
            }
            int a = start + 16;
            Header h;
            if (cmd == 0) { // LOCAL: health checks from the balancer itself; the addresses are ignored
                h = new Header(null, 0);
            } else if (fam == 0x11) { // TCP over IPv4
                if (len < 12) {
                    throw new BadHeader("PROXY v2 TCP4 address block of " + len + " bytes");
                }
                h = new Header(ip(in, a, 4), in.getUnsignedShort(a + 8));
            } else if (fam == 0x21) { // TCP over IPv6
                if (len < 36) {
                    throw new BadHeader("PROXY v2 TCP6 address block of " + len + " bytes");
                }
                h = new Header(ip(in, a, 16), in.getUnsignedShort(a + 32));
            } else if (fam == 0x00) { // UNSPEC
                h = new Header(null, 0);
            } else {
                throw new BadHeader(String.format("PROXY v2 family/transport 0x%02x is not TCP", fam));
            }
            in.readerIndex(start + 16 + len); // TLVs are skipped
            return h;
        }
        throw new BadHeader("not a PROXY header");
    }

    private static String ip(ByteBuf in, int at, int len) throws BadHeader {
        byte[] b = new byte[len];
        in.getBytes(at, b);
        try {
            return InetAddress.getByAddress(b).getHostAddress();
        } catch (UnknownHostException e) {
            throw new BadHeader("bad address");
        }
    }

    private static Header parseV1(String line) throws BadHeader {
        String[] f = line.split(" ", -1);
        if (f.length >= 2 && f[1].equals("UNKNOWN")) {
            return new Header(null, 0);
        }
        if (f.length != 6) {
            throw new BadHeader("PROXY v1 line with " + f.length + " fields");
        }
        boolean v4 = f[1].equals("TCP4");
        if (!v4 && !f[1].equals("TCP6")) {
            throw new BadHeader("PROXY v1 protocol '" + f[1] + "'");
        }
        for (int i = 2; i <= 3; i++) {
            if (v4 ? !NetUtil.isValidIpV4Address(f[i]) : !NetUtil.isValidIpV6Address(f[i])) {
                throw new BadHeader("PROXY v1 address '" + f[i] + "' is not " + (v4 ? "IPv4" : "IPv6"));
            }
        }
        port(f[5]);
        byte[] b = NetUtil.createByteArrayFromIpAddressString(f[2]); // a literal: never a DNS lookup
        if (b == null) {
            throw new BadHeader("PROXY v1 address '" + f[2] + "'");
        }
        try {
            return new Header(InetAddress.getByAddress(b).getHostAddress(), port(f[4]));
        } catch (UnknownHostException e) {
            throw new BadHeader("PROXY v1 address '" + f[2] + "'");
        }
    }

    private static int port(String s) throws BadHeader {
        if (s.isEmpty() || s.length() > 5 || !s.chars().allMatch(c -> c >= '0' && c <= '9')) {
            throw new BadHeader("PROXY v1 port '" + s + "'");
        }
        int p = Integer.parseInt(s);
        if (p > 65535) {
            throw new BadHeader("PROXY v1 port '" + s + "'");
        }
        return p;
    }

    /**
     * Head of the pipeline until the header is read: accumulates, parses, records the client, removes itself and hands
     * any bytes after the header to the next handler (Vert.x's HTTP decoder) in the same call.
     */
    static final class Decoder extends ChannelInboundHandlerAdapter {
        private ByteBuf acc;
        private boolean failed;

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            if (!(msg instanceof ByteBuf in)) {
                ctx.fireChannelRead(msg);
                return;
            }
            if (failed) {
                in.release();
                return;
            }
            if (acc == null) {
                acc = ctx.alloc().buffer(Math.max(256, in.readableBytes()));
            }
            acc.writeBytes(in);
            in.release();
            Header h;
            try {
                h = parse(acc);
            } catch (BadHeader e) {
                failed = true;
                acc.release();
                acc = null;
                RefusalLog.badHeader(peerIp(ctx.channel()), e.getMessage());
                ctx.channel().close();
                return;
            }
            if (h == null) {
                return; // more bytes needed (the client_header timer bounds the wait)
            }
            Channel ch = ctx.channel();
            String client = h.address() != null ? h.address() : peerIp(ch);
            ch.attr(CLIENT).set(client == null ? "-" : client);
            if (h.address() != null) {
                ch.attr(ConnectionBase.REMOTE_ADDRESS_OVERRIDE).set(SocketAddress.inetSocketAddress(h.port(), h.address()));
            }
            ByteBuf rest = acc;
            acc = null;
            ctx.pipeline().remove(this);
            if (rest.isReadable()) {
                ctx.fireChannelRead(rest); // the coalesced request: straight to the HTTP decoder
            } else {
                rest.release();
            }
        }

        @Override
        public void handlerRemoved(ChannelHandlerContext ctx) {
            if (acc != null) {
                acc.release();
                acc = null;
            }
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            if (acc != null) {
                acc.release();
                acc = null;
            }
            ctx.fireChannelInactive();
        }
    }
}
