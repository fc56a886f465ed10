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

    private final ProxyConfig.AccessLog config;
    private final BlockingQueue<String> queue = new LinkedBlockingQueue<>(65_536);
    private final Thread writer;
    private volatile boolean closed;
    private volatile long dropped;

    public AccessLog(ProxyConfig.AccessLog config) {
        this.config = config;
        if (config.format() == ProxyConfig.AccessLog.Format.OFF) {
            writer = null;
            return;
        }
        writer = new Thread(this::run, "tiergate-access-log");
        writer.setDaemon(true);
        writer.start();
    }

    public void log(Entry e) {
        if (writer == null) {
            return;
        }
        String line = config.format() == ProxyConfig.AccessLog.Format.JSON ? json(e) : combined(e);
        if (!queue.offer(line)) {
            dropped++;
        }
    }

    static String combined(Entry e) {
        return e.clientIp() + " - - [" + CLF.format(Instant.ofEpochMilli(e.startMillis())) + "] \""
                + e.method() + " " + e.uri() + " " + e.protocol() + "\" " + e.status() + " " + e.bytesSent()
                + " \"" + dash(e.referer()) + "\" \"" + dash(e.userAgent()) + "\""
                + " rt=" + String.format(Locale.ROOT, "%.3f", e.durationMicros() / 1e6)
                + " route=\"" + dash(e.route()) + "\" upstream=" + dash(e.upstream())
                + " ua=\"" + dash(e.upstreamAddrs()) + "\" us=\"" + dash(e.upstreamStatuses()) + "\""
                + " tries=" + e.tries() + " body=" + dash(e.body())
                + " no_retry=" + dash(e.noRetry()) + " rid=" + dash(e.requestId()) + " limit=" + dash(e.limit());
    }

    static String json(Entry e) {
        return "{\"time\":\"" + Instant.ofEpochMilli(e.startMillis()) + "\",\"client\":" + q(e.clientIp())
                + ",\"method\":" + q(e.method()) + ",\"uri\":" + q(e.uri()) + ",\"protocol\":" + q(e.protocol())
                + ",\"status\":" + e.status() + ",\"bytes_sent\":" + e.bytesSent() + ",\"referer\":" + q(e.referer())
                + ",\"user_agent\":" + q(e.userAgent()) + ",\"duration_us\":" + e.durationMicros()
                + ",\"route\":" + q(e.route()) + ",\"upstream\":" + q(e.upstream())
                + ",\"upstream_addrs\":" + q(e.upstreamAddrs()) + ",\"upstream_statuses\":" + q(e.upstreamStatuses())
                + ",\"tries\":" + e.tries() + ",\"body\":" + q(e.body()) + ",\"no_retry\":" + q(e.noRetry())
                + ",\"request_id\":" + q(e.requestId()) + ",\"limit\":" + q(e.limit()) + "}";
    }

    private static String dash(String s) {
        return s == null || s.isEmpty() ? "-" : s.replace("\"", "\\\"");
    }

    private static String q(String s) {
        if (s == null) {
            return "null";
        }
        StringBuilder b = new StringBuilder("\"");
        for (char c : s.toCharArray()) {
            switch (c) {
                case '"' -> b.append("\\\"");
                case '\\' -> b.append("\\\\");
                default -> {
                    if (c < 0x20) {
                        b.append(String.format("\\u%04x", (int) c));
                    } else {
                        b.append(c);
                    }
                }
            }
        }
        return b.append('"').toString();
    }

    private void run() {
        try (Writer w = open()) {
            while (!closed || !queue.isEmpty()) {
                String line = queue.poll(200, TimeUnit.MILLISECONDS);
                if (line == null) {
                    continue;
                }
                w.write(line);
                w.write('\n');
                String next;
                while ((next = queue.poll()) != null) {
                    w.write(next);
                    w.write('\n');
                }
                w.flush();
            }
        } catch (IOException | InterruptedException e) {
            System.err.println("tiergate: access log stopped: " + e.getMessage());
        }
    }

    private Writer open() throws IOException {
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

    public long dropped() {
        return dropped;
    }

    @Override
    public void close() {
        closed = true;
        if (writer != null) {
            try {
                writer.join(2000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }
}
