package io.tiergate.director.dataplane.userspace;

import io.vertx.core.buffer.Buffer;

import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;

/**
 * PROXY protocol v2 header (haproxy's proxy-protocol.txt, section 2.2): tells a real server behind the userspace
 * dataplane the client's address, which a full proxy otherwise hides.
 */
final class ProxyProtocol {
    static final byte[] SIGNATURE = {0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A};

    private ProxyProtocol() {
    }

    /** PROXY command over TCP; LOCAL when the two addresses are of different families (cannot be expressed). */
    static Buffer v2(InetSocketAddress client, InetSocketAddress local) {
        Buffer b = Buffer.buffer(52);
        b.appendBytes(SIGNATURE);
        InetAddress src = client.getAddress();
        InetAddress dst = local.getAddress();
        boolean v4 = src instanceof Inet4Address && dst instanceof Inet4Address;
        boolean v6 = !(src instanceof Inet4Address) && !(dst instanceof Inet4Address);
        if (!v4 && !v6) {
            b.appendByte((byte) 0x20); // version 2, LOCAL
            b.appendByte((byte) 0x00);
            b.appendShort((short) 0);
            return b;
        }
        b.appendByte((byte) 0x21); // version 2, PROXY
        b.appendByte(v4 ? (byte) 0x11 : (byte) 0x21); // AF_INET/AF_INET6, STREAM
        b.appendShort((short) (v4 ? 12 : 36));
        b.appendBytes(src.getAddress());
        b.appendBytes(dst.getAddress());
        b.appendShort((short) client.getPort());
        b.appendShort((short) local.getPort());
        return b;
    }
}
