package io.tiergate.proxy.compress;

import io.vertx.core.buffer.Buffer;

import java.util.zip.CRC32;
import java.util.zip.Deflater;

/**
 * Streaming gzip (RFC 1952) on the JDK's Deflater: feed chunks as they arrive, get compressed chunks back, then the
 * trailer. Not thread-safe: one per response. {@link #finish()} must be called (it also releases the native zlib
 * state); {@link #close()} releases it when the response is abandoned.
 */
public final class GzipEncoder implements ContentEncoder {
    private static final byte[] HEADER = {0x1f, (byte) 0x8b, 8, 0, 0, 0, 0, 0, 0, (byte) 0xff};

    private final Deflater deflater;
    private final CRC32 crc = new CRC32();
    private final byte[] out = new byte[16 * 1024];
    private boolean headerWritten;
    private long inputLength;

    public GzipEncoder(int level) {
        this.deflater = new Deflater(level, true);
    }

    public static Buffer gzip(Buffer whole, int level) {
        try (GzipEncoder e = new GzipEncoder(level)) {
            Buffer b = e.write(whole);
            return b.appendBuffer(e.finish());
        }
    }

    @Override
    public Buffer write(Buffer chunk) {
        Buffer result = Buffer.buffer();
        header(result);
        byte[] in = chunk.getBytes();
        crc.update(in);
        inputLength += in.length;
        deflater.setInput(in);
        // SYNC_FLUSH keeps the output flowing for streamed responses (each chunk decodable as it arrives).
        drain(result, Deflater.SYNC_FLUSH);
        return result;
    }

    @Override
    public Buffer finish() {
        Buffer result = Buffer.buffer();
        header(result);
        deflater.finish();
        while (!deflater.finished()) {
            int n = deflater.deflate(out, 0, out.length, Deflater.NO_FLUSH);
            result.appendBytes(out, 0, n);
        }
        result.appendIntLE((int) crc.getValue());
        result.appendIntLE((int) inputLength);
        deflater.end();
        return result;
    }

    private void header(Buffer b) {
        if (!headerWritten) {
            b.appendBytes(HEADER);
            headerWritten = true;
        }
    }

    private void drain(Buffer b, int flush) {
        int n;
        do {
            n = deflater.deflate(out, 0, out.length, flush);
            b.appendBytes(out, 0, n);
        } while (n == out.length);
    }

    @Override
    public void close() {
        deflater.end();
    }
}
