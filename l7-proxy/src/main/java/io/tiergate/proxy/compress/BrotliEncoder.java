package io.tiergate.proxy.compress;

import com.aayushatharva.brotli4j.Brotli4jLoader;
import com.aayushatharva.brotli4j.encoder.BrotliOutputStream;
import com.aayushatharva.brotli4j.encoder.Encoder;
import io.vertx.core.buffer.Buffer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;

/**
 * Streaming brotli (RFC 7932) on brotli4j's native encoder. Each {@link #write} flushes, so a streamed response is
 * decodable as it goes. Whether the native library loads is checked once; when it does not, {@link #available()}
 * is false, one warning is logged, and negotiation falls back to gzip.
 */
public final class BrotliEncoder implements ContentEncoder {
    private static final Logger log = LoggerFactory.getLogger(BrotliEncoder.class);
    private static final boolean LOADED = load();
    // Tests turn brotli off to check the fallback without unloading a native library.
    private static volatile boolean disabled;

    private final Sink sink = new Sink();
    private final BrotliOutputStream out;
    private boolean closed;

    public BrotliEncoder(int quality) {
        try {
            this.out = new BrotliOutputStream(sink, new Encoder.Parameters().setQuality(quality), 16 * 1024);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static boolean load() {
        try {
            Brotli4jLoader.ensureAvailability();
            return true;
        } catch (Throwable t) {
            log.warn("brotli native library not available ({}): responses fall back to gzip", t.toString());
            return false;
        }
    }

    public static boolean available() {
        return LOADED && !disabled;
    }

    static void disableForTests(boolean off) {
        disabled = off;
    }

    public static Buffer brotli(Buffer whole, int quality) {
        try (BrotliEncoder e = new BrotliEncoder(quality)) {
            Buffer b = e.write(whole);
            return b.appendBuffer(e.finish());
        }
    }

    @Override
    public Buffer write(Buffer chunk) {
        try {
            out.write(chunk.getBytes());
            out.flush();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return sink.take();
    }

    @Override
    public Buffer finish() {
        closed = true;
        try {
            out.close();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return sink.take();
    }

    @Override
    public void close() {
        if (!closed) {
            closed = true;
            try {
                out.close();
            } catch (IOException | RuntimeException e) {
                // abandoned response: only the native state matters, and close released it
            }
        }
    }

    /** Collects what the encoder emits between two takes. */
    private static final class Sink extends OutputStream {
        private Buffer pending = Buffer.buffer();

        @Override
        public void write(int b) {
            pending.appendByte((byte) b);
        }

        @Override
        public void write(byte[] b, int off, int len) {
            pending.appendBytes(b, off, len);
        }

        Buffer take() {
            Buffer b = pending;
            pending = Buffer.buffer();
            return b;
        }
    }
}
