package io.tiergate.shared.admin;

import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;

/**
 * The last few things that happened to a tier, for the status page: health flips, ejections, VRRP role changes,
 * reloads, operator actions. Bounded (the oldest go first), so a flapping server cannot grow it; thread-safe, since
 * events come from health loops, the engine thread, VRRP's thread and admin requests.
 */
public final class EventLog {
    public static final int DEFAULT_CAPACITY = 200;

    /**
     * @param seq  increasing from 1; the page asks for events after the last one it has
     * @param time when, ISO-8601 UTC (e.g. 2026-12-04T20:15:23.123Z)
     * @param kind health, ejection, role, reload, action, ...
     * @param level info, warn or error (how the page colours it)
     */
    public record Event(long seq, String time, String kind, String level, String message) {
    }

    private final int capacity;
    private final ArrayDeque<Event> ring;
    private long seq;

    public EventLog() {
        this(DEFAULT_CAPACITY);
    }

    public EventLog(int capacity) {
        if (capacity < 1) {
            throw new IllegalArgumentException("capacity: " + capacity + " (expected: at least 1)");
        }
        this.capacity = capacity;
        this.ring = new ArrayDeque<>(capacity);
    }

    public void info(String kind, String message) {
        add(kind, "info", message);
    }

    public void warn(String kind, String message) {
        add(kind, "warn", message);
    }

    public void error(String kind, String message) {
        add(kind, "error", message);
    }

    public synchronized void add(String kind, String level, String message) {
        if (ring.size() == capacity) {
            ring.removeFirst();
        }
        ring.addLast(new Event(++seq, Instant.now().toString(), kind, level, message));
    }

    /** Events with a sequence number above {@code after}, oldest first. */
    public synchronized List<Event> since(long after) {
        List<Event> out = new ArrayList<>();
        for (Event e : ring) {
            if (e.seq() > after) {
                out.add(e);
            }
        }
        return out;
    }

    /** Multi-line text (a config's problems) as one event line: the first line and how many more there are. */
    public static String summary(String text) {
        String[] lines = text.strip().split("\n");
        return lines[0].strip() + (lines.length > 1 ? " (+" + (lines.length - 1) + " more; see the log)" : "");
    }

    /** The {@code after} query parameter of {@code GET /api/events}: absent or not a number means 0 (all kept). */
    public static long afterParam(String value) {
        try {
            return value == null ? 0 : Math.max(0, Long.parseLong(value.trim()));
        } catch (NumberFormatException e) {
            return 0;
        }
    }

    /** The newest {@code n} events, newest first. */
    public synchronized List<Event> recent(int n) {
        List<Event> out = new ArrayList<>(Math.min(n, ring.size()));
        var it = ring.descendingIterator();
        while (it.hasNext() && out.size() < n) {
            out.add(it.next());
        }
        return out;
    }
}
