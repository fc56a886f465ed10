package io.tiergate.proxy.log;

import io.tiergate.proxy.config.ProxyConfig;

import java.io.BufferedWriter;
import java.io.IOException;
import java.io.OutputStreamWriter;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Instant;
import java.time.ZoneId;
import java.time.format.DateTimeFormatter;
import java.util.Locale;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * One line per request, nginx "combined" plus Tiergate's fields, or JSON. Event loops only enqueue; one writer
 * thread owns the file so slow disks never stall request handling. When the queue is full, lines are dropped and
 * counted rather than blocking traffic.
 */
public final class AccessLog implements AutoCloseable {
    private static final org.slf4j.Logger log = org.slf4j.LoggerFactory.getLogger(AccessLog.class);
    private static final DateTimeFormatter CLF =
            DateTimeFormatter.ofPattern("dd/MMM/yyyy:HH:mm:ss Z", Locale.ENGLISH).withZone(ZoneId.systemDefault());

    /** Everything one request leaves behind. */
    public record Entry(long startMillis, String clientIp, String method, String uri, String protocol, int status,
                        long bytesSent, String referer, String userAgent, long durationMicros, String route,
                        String upstream, String upstreamAddrs, String upstreamStatuses, int tries, String body,
                        String noRetry, String requestId, String limit) {
        /** Without a limit note (nothing limited or refused this request). */
        public Entry(long startMillis, String clientIp, String method, String uri, String protocol, int status,
                     long bytesSent, String referer, String userAgent, long durationMicros, String route,
                     String upstream, String upstreamAddrs, String upstreamStatuses, int tries, String body,
                     String noRetry, String requestId) {
            this(startMillis, clientIp, method, uri, protocol, status, bytesSent, referer, userAgent, durationMicros,
                    route, upstream, upstreamAddrs, upstreamStatuses, tries, body, noRetry, requestId, null);
        }
    }

    private volatile ProxyConfig.AccessLog config;
    /** Bumped by {@link #reconfigure}: the writer closes its file and opens the one the config now names. */
    private final java.util.concurrent.atomic.AtomicLong generation = new java.util.concurrent.atomic.AtomicLong();
    private final BlockingQueue<String> queue = new LinkedBlockingQueue<>(65_536);
    /** How long the writer lets lines gather after writing a batch (65,536 queued lines last ~0.5 s at 128k/s). */
    private static final long GATHER_MS = 50;
    private Thread writer; // guarded by this; started when the log is first on
    private volatile boolean closed;
    private final java.util.concurrent.atomic.LongAdder dropped = new java.util.concurrent.atomic.LongAdder();
    private volatile boolean reopen;

    public AccessLog(ProxyConfig.AccessLog config) {
        this.config = config;
        startWriter();
    }

    private synchronized void startWriter() {
        if (writer != null || closed || config.format() == ProxyConfig.AccessLog.Format.OFF) {
            return;
        }
        writer = new Thread(this::run, "tiergate-access-log");
        writer.setDaemon(true);
        writer.start();
    }

    /**
     * A reload's new {@code access_log}: lines from now on take the new format, and the writer, once it has written
     * what is queued to the old file, closes it and opens the new path (created if missing, appended to).
     */
    public void reconfigure(ProxyConfig.AccessLog next) {
        config = next;
        // In queue order: lines logged before this call still go to the old file.
        if (!queue.offer(SWITCH)) {
            generation.incrementAndGet(); // queue full: switch at once rather than wait
        }
        startWriter();
    }

    /** Queued by {@link #reconfigure}: the writer switches files when it reaches it (compared by identity). */
    @SuppressWarnings("StringOperationCanBeSimplified")
    private static final String SWITCH = new String("switch");

    /** False with {@code format: off}: callers skip building an entry (it costs a few strings per request). */
    public boolean enabled() {
        return config.format() != ProxyConfig.AccessLog.Format.OFF;
    }

    public void log(Entry e) {
        ProxyConfig.AccessLog c = config;
        if (c.format() == ProxyConfig.AccessLog.Format.OFF) {
            return;
        }
        String line = c.format() == ProxyConfig.AccessLog.Format.JSON ? json(e) : combined(e);
        if (!queue.offer(line)) {
            dropped.increment(); // several event loops log at once
        }
    }

    static String combined(Entry e) {
        return e.clientIp() + " - - [" + Second.of(e.startMillis()).clf + "] \""
                + e.method() + " " + e.uri() + " " + e.protocol() + "\" " + e.status() + " " + e.bytesSent()
                + " \"" + dash(e.referer()) + "\" \"" + dash(e.userAgent()) + "\""
                + " rt=" + seconds(e.durationMicros())
                + " route=\"" + dash(e.route()) + "\" upstream=" + dash(e.upstream())
                + " ua=\"" + dash(e.upstreamAddrs()) + "\" us=\"" + dash(e.upstreamStatuses()) + "\""
                + " tries=" + e.tries() + " body=" + dash(e.body())
                + " no_retry=" + dash(e.noRetry()) + " rid=" + dash(e.requestId()) + " limit=" + dash(e.limit());
    }

    static String json(Entry e) {
        // One builder for the line: a String per field, quoted and then concatenated, copied every field twice.
        StringBuilder b = new StringBuilder(384).append("{\"time\":\"").append(Second.iso(e.startMillis()));
        q(b.append("\",\"client\":"), e.clientIp());
        q(b.append(",\"method\":"), e.method());
        q(b.append(",\"uri\":"), e.uri());
        q(b.append(",\"protocol\":"), e.protocol());
        b.append(",\"status\":").append(e.status()).append(",\"bytes_sent\":").append(e.bytesSent());
        q(b.append(",\"referer\":"), e.referer());
        q(b.append(",\"user_agent\":"), e.userAgent());
        b.append(",\"duration_us\":").append(e.durationMicros());
        q(b.append(",\"route\":"), e.route());
        q(b.append(",\"upstream\":"), e.upstream());
        q(b.append(",\"upstream_addrs\":"), e.upstreamAddrs());
        q(b.append(",\"upstream_statuses\":"), e.upstreamStatuses());
        b.append(",\"tries\":").append(e.tries());
        q(b.append(",\"body\":"), e.body());
        q(b.append(",\"no_retry\":"), e.noRetry());
        q(b.append(",\"request_id\":"), e.requestId());
        q(b.append(",\"limit\":"), e.limit());
        return b.append('}').toString();
    }

    /**
     * One second's time stamps, made once for every line of that second (a DateTimeFormatter run per request cost
     * more than the rest of the line): nginx's {@code [dd/MMM/yyyy:HH:mm:ss Z]} and the ISO-8601 instant.
     */
    private record Second(long epochSecond, String clf, String iso) {
        private static volatile Second last = new Second(Long.MIN_VALUE, "", "");

        static Second of(long millis) {
            long s = Math.floorDiv(millis, 1000);
            Second c = last;
            if (c.epochSecond != s) {
                Instant at = Instant.ofEpochSecond(s);
                c = new Second(s, CLF.format(at), at.toString());
                last = c; // an immutable value: any thread may read the newest one or an older one
            }
            return c;
        }

        /** {@link Instant#toString()} of {@code millis}: milliseconds after the seconds, none when they are 0. */
        static String iso(long millis) {
            String whole = of(millis).iso;
            int ms = (int) Math.floorMod(millis, 1000L);
            return ms == 0 ? whole : whole.substring(0, whole.length() - 1) + '.' + (char) ('0' + ms / 100)
                    + (char) ('0' + ms / 10 % 10) + (char) ('0' + ms % 10) + 'Z';
        }
    }

    /** The protocol field: what {@code version.alpnName().toUpperCase()} says, without a new String per line. */
    public static String protocol(io.vertx.core.http.HttpVersion version) {
        return version == null ? "HTTP/1.1" : switch (version) {
            case HTTP_1_0 -> "HTTP/1.0";
            case HTTP_1_1 -> "HTTP/1.1";
            case HTTP_2 -> "H2";
            default -> version.alpnName().toUpperCase(Locale.ROOT);
        };
    }

    /** Microseconds as seconds with three decimals, rounded half up ({@code %.3f} without a Formatter per line). */
    static String seconds(long micros) {
        if (micros < 0) {
            return String.format(Locale.ROOT, "%.3f", micros / 1e6);
        }
        long ms = (micros + 500) / 1000;
        long frac = ms % 1000;
        return (ms / 1000) + (frac < 10 ? ".00" : frac < 100 ? ".0" : ".") + frac;
    }

    private static String dash(String s) {
        return s == null || s.isEmpty() ? "-" : s.replace("\"", "\\\"");
    }

    /** {@code s} as a JSON string (quotes, backslashes and control characters escaped), or null. */
    private static void q(StringBuilder b, String s) {
        if (s == null) {
            b.append("null");
            return;
        }
        b.append('"');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"' -> b.append("\\\"");
                case '\\' -> b.append("\\\\");
                default -> {
                    if (c < 0x20) {
                        b.append("\\u00").append(HEX[c >> 4]).append(HEX[c & 0xf]);
                    } else {
                        b.append(c);
                    }
                }
            }
        }
        b.append('"');
    }

    private static final char[] HEX = "0123456789abcdef".toCharArray();

    /**
     * SIGUSR1 (nginx's reopen): the writer closes the file and opens {@code path} again, so after {@code mv access.log
     * access.log.1} new lines go to a fresh access.log. Lines already queued are written to whichever file is open
     * when the writer gets to them; none is lost. Returns at once; the switch happens within ~200 ms.
     */
    public void reopen() {
        reopen = !config.path().equals("stdout"); // stdout is not ours to reopen
    }

    private void run() {
        long seen = generation.get();
        ProxyConfig.AccessLog c = config;
        Writer w = null;
        try {
            w = open(c);
            while (!closed || !queue.isEmpty()) {
                if (reopen) {
                    reopen = false;
                    w = reopened(w, c);
                }
                String line = queue.poll(200, TimeUnit.MILLISECONDS);
                if (line == SWITCH) {
                    generation.incrementAndGet();
                    line = null;
                }
                if (generation.get() != seen) {
                    seen = generation.get();
                    ProxyConfig.AccessLog next = config;
                    if (!next.path().equals(c.path()) || next.format() == ProxyConfig.AccessLog.Format.OFF) {
                        w.close();
                        w = null; // a new file that cannot be opened stops the log (said on stderr), as at start
                        w = open(next);
                    }
                    c = next;
                }
                if (line == null) {
                    continue;
                }
                w.write(line);
                w.write('\n');
                String next;
                while (queue.peek() != SWITCH && (next = queue.poll()) != null) {
                    w.write(next);
                    w.write('\n');
                }
                w.flush();
                if (!closed) {
                    // Let lines gather rather than be woken for each one: under load a request's line is then a
                    // queue entry, not a wake-up, a write and a sleep of this thread. Alone, a line is written at once.
                    TimeUnit.MILLISECONDS.sleep(GATHER_MS);
                }
            }
        } catch (IOException | InterruptedException e) {
            log.error("access log {} stopped: {}", c.path(), e.getMessage());
        } finally {
            if (w != null) {
                try {
                    w.close();
                } catch (IOException e) {
                    log.warn("access log {}: close failed: {}", c.path(), e.getMessage());
                }
            }
        }
    }

    /** The new file, or the old writer when the path cannot be opened (logged; the next USR1 tries again). */
    private Writer reopened(Writer old, ProxyConfig.AccessLog c) throws IOException {
        Writer fresh;
        try {
            fresh = open(c);
        } catch (IOException e) {
            log.error("access log {}: reopen failed, still writing to the previous file: {}", c.path(),
                    e.toString());
            return old;
        }
        old.close();
        log.info("access log {} reopened", c.path());
        return fresh;
    }

    private static Writer open(ProxyConfig.AccessLog config) throws IOException {
        if (config.format() == ProxyConfig.AccessLog.Format.OFF) {
            return Writer.nullWriter();
        }
        if (config.path().equals("stdout")) {
            return new BufferedWriter(new OutputStreamWriter(System.out, StandardCharsets.UTF_8)) {
                @Override
                public void close() throws IOException {
                    flush(); // never close System.out
                }
            };
        }
        Path p = Path.of(config.path());
        if (p.getParent() != null) {
            Files.createDirectories(p.getParent());
        }
        return Files.newBufferedWriter(p, StandardCharsets.UTF_8, StandardOpenOption.CREATE, StandardOpenOption.APPEND);
    }

    /** Lines dropped because the queue was full (the file could not keep up): tiergate_proxy_access_log_dropped. */
    public long dropped() {
        return dropped.sum();
    }

    @Override
    public void close() {
        Thread w;
        synchronized (this) {
            closed = true;
            w = writer;
        }
        if (w != null) {
            try {
                w.join(2000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }
}
