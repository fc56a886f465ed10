package io.tiergate.shared.logging;

import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.classic.spi.IThrowableProxy;
import ch.qos.logback.classic.spi.ThrowableProxyUtil;
import ch.qos.logback.core.CoreConstants;
import ch.qos.logback.core.LayoutBase;
import java.time.Instant;
import java.util.Map;

/**
 * One JSON object per line: {@code ts, level, thread, logger, message}, then MDC entries under
 * {@code mdc} and a stack trace under {@code exception} when present. Written by hand so the field
 * names stay ours and stable for log shippers, whatever logback's own encoder does next release.
 */
public final class JsonLayout extends LayoutBase<ILoggingEvent> {

    @Override
    public String doLayout(ILoggingEvent event) {
        StringBuilder sb = new StringBuilder(256);
        sb.append("{\"ts\":");
        string(sb, Instant.ofEpochMilli(event.getTimeStamp()).toString());
        sb.append(",\"level\":");
        string(sb, event.getLevel().toString());
        sb.append(",\"thread\":");
        string(sb, event.getThreadName());
        sb.append(",\"logger\":");
        string(sb, event.getLoggerName());
        sb.append(",\"message\":");
        string(sb, event.getFormattedMessage());
        Map<String, String> mdc = event.getMDCPropertyMap();
        if (mdc != null && !mdc.isEmpty()) {
            sb.append(",\"mdc\":{");
            boolean first = true;
            for (Map.Entry<String, String> e : mdc.entrySet()) {
                if (!first) {
                    sb.append(',');
                }
                first = false;
                string(sb, e.getKey());
                sb.append(':');
                string(sb, e.getValue());
            }
            sb.append('}');
        }
        IThrowableProxy tp = event.getThrowableProxy();
        if (tp != null) {
            sb.append(",\"exception\":");
            string(sb, ThrowableProxyUtil.asString(tp));
        }
        sb.append('}').append(CoreConstants.LINE_SEPARATOR);
        return sb.toString();
    }

    static void string(StringBuilder sb, String s) {
        if (s == null) {
            sb.append("null");
            return;
        }
        sb.append('"');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"' -> sb.append("\\\"");
                case '\\' -> sb.append("\\\\");
                case '\n' -> sb.append("\\n");
                case '\r' -> sb.append("\\r");
                case '\t' -> sb.append("\\t");
                default -> {
                    // Control characters must be escaped; U+2028/9 break JavaScript-based readers.
                    if (c < 0x20 || c == '\u2028' || c == '\u2029') {
                        sb.append(String.format("\\u%04x", (int) c));
                    } else {
                        sb.append(c);
                    }
                }
            }
        }
        sb.append('"');
    }
}
