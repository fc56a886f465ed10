package io.tiergate.proxy.forward;

import io.netty.handler.codec.http.HttpHeaderNames;
import io.tiergate.proxy.config.ProxyConfig;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.file.OpenOptions;
import io.vertx.core.http.HttpClientRequest;
import io.vertx.core.http.HttpServerRequest;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * A request body as the forwarder sees it. Buffered bodies (memory, then a temp file) can be sent again to another
 * server; a streamed one goes once, as it arrives, and the request can then no longer be retried.
 */
public abstract class Body {
    /** Why a body could not be read: the status the client gets. */
    public static final class BodyException extends RuntimeException {
        private static final long serialVersionUID = 1L;
        private final int status;

        BodyException(int status, String message) {
            super(message, null, false, false);
            this.status = status;
        }

        public int status() {
            return status;
        }
    }

    public static final Body EMPTY = new Memory(Buffer.buffer());

    /** Bytes, or -1 when unknown (streamed chunked). */
    public abstract long length();

    public abstract boolean replayable();

    /** Whether sending has already consumed part of a non-replayable body. */
    public abstract boolean consumed();

    /** "memory", "file" or "streamed": the access log shows it so silent replay limits are visible. */
    public abstract String mode();

    /** Sends the whole body on {@code req} and ends it; the request's own headers are set by the caller. */
    public abstract void writeTo(Vertx vertx, HttpClientRequest req);

    public void dispose() {
    }

    /**
     * Whether a request may carry a body: on HTTP/1.x only {@code Content-Length} or {@code Transfer-Encoding}
     * announce one (RFC 9112 §6.3); HTTP/2 DATA frames need neither; a WebSocket handshake reads the request's end.
     * Only these are paused on arrival: a pause (and its resume) creates Vert.x's inbound queue, a cost on every
     * plain GET otherwise.
     */
    static boolean mayCarryBody(HttpServerRequest req) {
        if (req.version() == io.vertx.core.http.HttpVersion.HTTP_2) {
            return true;
        }
        io.vertx.core.MultiMap h = req.headers();
        return h.contains(HttpHeaderNames.CONTENT_LENGTH) || h.contains(HttpHeaderNames.TRANSFER_ENCODING)
                || h.contains(HttpHeaderNames.UPGRADE);
    }

    /**
     * Reads the request body by the limits of the config: over {@code max_body_size} fails with 413; a body that
     * stalls longer than {@code client_body} fails with 408; above {@code body_buffer.max} it is streamed.
     * {@code chunked}: the length is not known in advance (HTTP/1.1 chunked, or HTTP/2 DATA without content-length).
     */
    public static Future<Body> read(Vertx vertx, HttpServerRequest req, ProxyConfig config, long contentLength,
                                    boolean chunked) {
        return read(vertx, req, config, config.limits().maxBodySize(), contentLength, chunked);
    }

    /** As above with the location's {@code max_body_size} instead of the global one. */
    public static Future<Body> read(Vertx vertx, HttpServerRequest req, ProxyConfig config, long maxBodySize,
                                    long contentLength, boolean chunked) {
        if (contentLength == 0 || (contentLength < 0 && !chunked)) {
            // Paused on arrival (mayCarryBody) without a body to read: "Content-Length: 0", an HTTP/2 stream that
            // ended with its headers, or an upgrade (a Transfer-Encoding is chunked here or was refused).
            if (contentLength == 0 || req.version() == io.vertx.core.http.HttpVersion.HTTP_2
                    || req.headers().contains(HttpHeaderNames.UPGRADE)) {
                req.resume();
            }
            return Future.succeededFuture(EMPTY);
        }
        ProxyConfig.BodyBuffer buf = config.bodyBuffer();
        if (contentLength > buf.max()) {
            return Future.succeededFuture(new Streamed(req, null, contentLength));
        }
        return new Reader(vertx, req, config, maxBodySize, contentLength).start();
    }

    static final class Memory extends Body {
        private final Buffer data;

        Memory(Buffer data) {
            this.data = data;
        }

        Buffer data() {
            return data;
        }

        @Override
        public long length() {
            return data.length();
        }

        @Override
        public boolean replayable() {
            return true;
        }

        @Override
        public boolean consumed() {
            return false;
        }

        @Override
        public String mode() {
            return "memory";
        }

        @Override
        public void writeTo(Vertx vertx, HttpClientRequest req) {
            if (data.length() == 0) {
                req.end();
            } else {
                req.end(data);
            }
        }
    }

    static final class FileBody extends Body {
        private final Path file;
        private final long length;

        FileBody(Path file, long length) {
            this.file = file;
            this.length = length;
        }

        @Override
        public long length() {
            return length;
        }

        @Override
        public boolean replayable() {
            return true;
        }

        @Override
        public boolean consumed() {
            return false;
        }

        @Override
        public String mode() {
            return "file";
        }

        @Override
        public void writeTo(Vertx vertx, HttpClientRequest req) {
            vertx.fileSystem().open(file.toString(), new OpenOptions().setRead(true).setWrite(false).setCreate(false))
                    .onSuccess(f -> f.pipeTo(req))
                    .onFailure(t -> req.reset(0, t));
        }

        @Override
        public void dispose() {
            try {
                Files.deleteIfExists(file);
            } catch (IOException ignored) {
                // a leftover temp file is harmless; the directory is the operator's temp dir
            }
        }
    }

    /** Sends an optional already-read prefix, then the rest of the client's request as it arrives. */
    static final class Streamed extends Body {
        private final HttpServerRequest req;
        private final Body prefix;
        private final long length;
        private boolean consumed;

        Streamed(HttpServerRequest req, Body prefix, long length) {
            this.req = req;
            this.prefix = prefix;
            this.length = length;
        }

        @Override
        public long length() {
            return length;
        }

        @Override
        public boolean replayable() {
            return false;
        }

        @Override
        public boolean consumed() {
            return consumed;
        }

        @Override
        public String mode() {
            return "streamed";
        }

        @Override
        public void writeTo(Vertx vertx, HttpClientRequest out) {
            consumed = true;
            if (prefix instanceof Memory m) {
                out.write(m.data);
            } else if (prefix instanceof FileBody f) {
                try {
                    out.write(Buffer.buffer(Files.readAllBytes(f.file))); // bounded by body_buffer.max
                } catch (IOException e) {
                    out.reset(0, e);
                    return;
                }
                f.dispose();
            }
            req.pipeTo(out);
        }

        @Override
        public void dispose() {
            if (prefix != null) {
                prefix.dispose();
            }
        }
    }

    /** Accumulates a body: memory first, a temp file past body_buffer.memory, streaming past body_buffer.max. */
    private static final class Reader {
        private final Vertx vertx;
        private final HttpServerRequest req;
        private final ProxyConfig config;
        private final long maxBodySize;
        private final long contentLength;
        private final Promise<Body> promise = Promise.promise();
        private Buffer memory = Buffer.buffer();
        private FileChannel channel;
        private Path file;
        private long total;
        private long timer = -1;
        private boolean done;

        Reader(Vertx vertx, HttpServerRequest req, ProxyConfig config, long maxBodySize, long contentLength) {
            this.maxBodySize = maxBodySize;
            this.vertx = vertx;
            this.req = req;
            this.config = config;
            this.contentLength = contentLength;
        }

        Future<Body> start() {
            armTimer();
            req.handler(this::chunk);
            req.endHandler(v -> end());
            req.exceptionHandler(t -> fail(new BodyException(400, "bad request body: " + t.getMessage())));
            req.resume();
            return promise.future();
        }

        private void armTimer() {
            if (timer >= 0) {
                vertx.cancelTimer(timer);
            }
            timer = vertx.setTimer(config.timeouts().clientBody().toMillis(),
                    id -> fail(new BodyException(408, "the client sent no body data for "
                            + config.timeouts().clientBody().toMillis() + " ms")));
        }

        private void chunk(Buffer b) {
            if (done) {
                return;
            }
            armTimer();
            total += b.length();
            if (total > maxBodySize) {
                fail(new BodyException(413, "request body larger than max_body_size ("
                        + maxBodySize + " bytes)"));
                return;
            }
            try {
                if (channel == null && total <= config.bodyBuffer().memory()) {
                    memory.appendBuffer(b);
                } else {
                    if (channel == null) {
                        Files.createDirectories(config.bodyBuffer().tempDir());
                        file = Files.createTempFile(config.bodyBuffer().tempDir(), "tiergate-body-", ".tmp");
                        // Blocking writes land in the page cache (microseconds), as nginx's client_body_temp does.
                        channel = FileChannel.open(file, StandardOpenOption.WRITE);
                        write(memory);
                        memory = null;
                    }
                    write(b);
                }
            } catch (IOException e) {
                fail(new BodyException(500, "cannot buffer the request body: " + e.getMessage()));
                return;
            }
            if (contentLength < 0 && total > config.bodyBuffer().max()) {
                // A chunked body outgrew the buffer: send what we have, then stream the rest; no retry possible.
                req.pause();
                req.handler(null);
                req.endHandler(null);
                finishTimer();
                done = true;
                promise.tryComplete(new Streamed(req, closeAndGet(), -1));
            }
        }

        private void write(Buffer b) throws IOException {
            ByteBuffer bb = ByteBuffer.wrap(b.getBytes());
            while (bb.hasRemaining()) {
                channel.write(bb);
            }
        }

        private Body closeAndGet() {
            if (channel == null) {
                return new Memory(memory);
            }
            try {
                channel.close();
            } catch (IOException ignored) {
                // the data was written; close errors on a temp file are not actionable
            }
            return new FileBody(file, total);
        }

        private void end() {
            if (done) {
                return;
            }
            done = true;
            finishTimer();
            if (total == 0 && contentLength < 0) {
                // An HTTP/2 request whose stream ended without DATA (a GET): no body, and none is announced upstream.
                promise.tryComplete(EMPTY);
                return;
            }
            promise.tryComplete(closeAndGet());
        }

        private void finishTimer() {
            if (timer >= 0) {
                vertx.cancelTimer(timer);
                timer = -1;
            }
        }

        private void fail(BodyException e) {
            if (done) {
                return;
            }
            done = true;
            finishTimer();
            closeAndGet().dispose();
            promise.tryFail(e);
        }
    }
}
