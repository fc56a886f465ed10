package io.tiergate.proxy;

import io.netty.channel.ChannelPipeline;
import io.netty.handler.codec.compression.ZlibCodecFactory;
import io.netty.handler.codec.http.websocketx.extensions.WebSocketServerExtensionHandler;
import io.netty.handler.codec.http.websocketx.extensions.WebSocketServerExtensionHandshaker;
import io.netty.handler.codec.http.websocketx.extensions.compression.DeflateFrameServerExtensionHandshaker;
import io.netty.handler.codec.http.websocketx.extensions.compression.PerMessageDeflateServerExtensionHandshaker;
import io.vertx.core.http.HttpServerOptions;

import java.util.ArrayList;
import java.util.List;

/**
 * WebSocket compression (permessage-deflate, deflate-frame) on an HTTP/1.x connection, added only when a request asks
 * for an upgrade. Vert.x puts Netty's extension handler into every connection's pipeline, where it inspects every
 * request and every response for a WebSocket handshake: about 0.4 µs of user CPU per proxied request and a few hundred
 * bytes per open connection, for the rare connection that upgrades. {@link ConnectionGuard} takes Vert.x's out when it
 * installs itself and calls {@link #putBack} for a request with an {@code Upgrade} field; the new handler is built from
 * the listener's options as Vert.x builds it (same handshakers, levels and size limits), in the same place.
 */
final class WebSocketExtensions {
    /** Vert.x's names: its extension handler, and its connection handler, which the extension handler sits before. */
    static final String NAME = "webSocketExtensionHandler";
    private static final String VERTX_HANDLER = "handler";

    private final WebSocketServerExtensionHandshaker[] handshakers;

    WebSocketExtensions(HttpServerOptions o) {
        List<WebSocketServerExtensionHandshaker> l = new ArrayList<>(2);
        if (o.getPerFrameWebSocketCompressionSupported()) {
            l.add(new DeflateFrameServerExtensionHandshaker(o.getWebSocketCompressionLevel(),
                    (int) Math.min(o.getMaxWebSocketFrameSize() + 512L, Integer.MAX_VALUE)));
        }
        if (o.getPerMessageWebSocketCompressionSupported()) {
            l.add(new PerMessageDeflateServerExtensionHandshaker(o.getWebSocketCompressionLevel(),
                    ZlibCodecFactory.isSupportingWindowSizeAndMemLevel(), 15, o.getWebSocketAllowServerNoContext(),
                    o.getWebSocketPreferredClientNoContext(),
                    (int) Math.min(o.getMaxWebSocketMessageSize() + 512L, Integer.MAX_VALUE)));
        }
        handshakers = l.toArray(new WebSocketServerExtensionHandshaker[0]);
    }

    /** Removes Vert.x's extension handler from a new connection's pipeline, if it put one there. */
    static void takeOut(ChannelPipeline p) {
        if (p.get(NAME) instanceof WebSocketServerExtensionHandler) {
            p.remove(NAME);
        }
    }

    /** Before an upgrade request goes on to Vert.x: the extension handler, where Vert.x would have put it. */
    void putBack(ChannelPipeline p) {
        if (handshakers.length > 0 && p.get(NAME) == null && p.get(VERTX_HANDLER) != null) {
            p.addBefore(VERTX_HANDLER, NAME, new WebSocketServerExtensionHandler(handshakers));
        }
    }
}
