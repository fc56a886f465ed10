package io.tiergate.shared.logging;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.PatternLayout;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.Layout;
import ch.qos.logback.core.OutputStreamAppender;
import ch.qos.logback.core.encoder.LayoutWrappingEncoder;
import java.io.FileOutputStream;
import java.io.FileDescriptor;
import java.io.OutputStream;
import java.util.Locale;
import java.util.Objects;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Programmatic Logback setup, so the config ({@code logging.format}, {@code logging.level}) decides
 * the format instead of a file on disk; calling it again (a reload) switches format and level live. Logs go to stderr: stdout stays free for command output such
 * as {@code tiergate status}.
 */
public final class Logging {

    /** UTC timestamps so lines from director and proxy hosts sort together. */
    public static final String TEXT_PATTERN =
            "%d{yyyy-MM-dd'T'HH:mm:ss.SSS'Z',UTC} %-5level [%thread] %logger - %msg%n";

    /**
     * Parent of the loggers that write a tier's lifecycle (listening, reloaded, reopened, stopping, stopped): few
     * lines an operator needs even at {@code level: warn}, so they stay at INFO there (as nginx's notices do).
     */
    public static final String LIFECYCLE = "tiergate";

    private static volatile boolean configured;

    private Logging() {
    }

    /**
     * @param format "text" or "json"
     * @param level trace, debug, info, warn, error or off (any case)
     * @throws IllegalArgumentException naming the bad argument and the accepted values
     */
    public static void configure(String format, String level) {
        configure(format, level, new FileOutputStream(FileDescriptor.err));
    }

    /** As {@link #configure(String, String)}, writing to {@code out} (tests, embedding). */
    public static void configure(String format, String level, OutputStream out) {
        Objects.requireNonNull(out, "out");
        String f = format == null ? "text" : format.toLowerCase(Locale.ROOT);
        if (!f.equals("text") && !f.equals("json")) {
            throw new IllegalArgumentException("log format: " + format + " (expected: text or json)");
        }
        Level lvl = parseLevel(level);

        if (!(LoggerFactory.getILoggerFactory() instanceof LoggerContext ctx)) {
            throw new IllegalStateException("SLF4J is not bound to Logback: "
                    + LoggerFactory.getILoggerFactory().getClass().getName());
        }
        ctx.reset();
        install(ctx, f, lvl, out);
        configured = true;
    }

    /**
     * The default before {@link #configure} runs (and for a command that never reads a config): text lines at INFO on
     * stderr. Called by {@link DefaultConfigurator} while Logback initialises.
     */
    static void installDefault(LoggerContext ctx) {
        install(ctx, "text", Level.INFO, new FileOutputStream(FileDescriptor.err));
    }

    private static void install(LoggerContext ctx, String f, Level lvl, OutputStream out) {

        Layout<ILoggingEvent> layout;
        if (f.equals("json")) {
            layout = new JsonLayout();
        } else {
            PatternLayout p = new PatternLayout();
            p.setPattern(TEXT_PATTERN);
            layout = p;
        }
        layout.setContext(ctx);
        layout.start();

        LayoutWrappingEncoder<ILoggingEvent> encoder = new LayoutWrappingEncoder<>();
        encoder.setContext(ctx);
        encoder.setLayout(layout);
        encoder.start();

        OutputStreamAppender<ILoggingEvent> appender = new OutputStreamAppender<>();
        appender.setContext(ctx);
        appender.setName(f);
        appender.setEncoder(encoder);
        // Reconfiguring (a reload's new logging.*) stops this appender, which closes its stream: never let that
        // close the process's stderr (fd 2), or every later line, ours and System.err's, would be lost.
        appender.setOutputStream(new java.io.FilterOutputStream(out) {
            @Override
            public void write(byte[] b, int off, int len) throws java.io.IOException {
                out.write(b, off, len);
            }

            @Override
            public void close() throws java.io.IOException {
                flush();
            }
        });
        appender.setImmediateFlush(true);
        appender.start();

        ch.qos.logback.classic.Logger root = ctx.getLogger(Logger.ROOT_LOGGER_NAME);
        root.setLevel(lvl);
        root.addAppender(appender);
        if (lvl == Level.WARN) {
            ctx.getLogger(LIFECYCLE).setLevel(Level.INFO);
        }
        // Netty logs every leaked buffer and DNS hiccup at debug; keep a debug run readable.
        if (lvl.toInt() < Level.INFO_INT) {
            ctx.getLogger("io.netty").setLevel(Level.INFO);
        }
    }

    /**
     * Whether {@link #configure} ran: from then on a command reports through the log (so a JSON log stays all JSON);
     * before it (a config that does not load) it prints plain lines to stderr.
     */
    public static boolean configured() {
        return configured;
    }

    private static Level parseLevel(String level) {
        if (level != null) {
            switch (level.toLowerCase(Locale.ROOT)) {
                case "trace": return Level.TRACE;
                case "debug": return Level.DEBUG;
                case "info": return Level.INFO;
                case "warn": case "warning": return Level.WARN;
                case "error": return Level.ERROR;
                case "off": return Level.OFF;
                default: break;
            }
        }
        throw new IllegalArgumentException("log level: " + level + " (expected: trace, debug, info, warn, error or off)");
    }
}
