package io.tiergate.proxy.forward;

import java.util.ArrayList;
import java.util.List;

/**
 * What an exchange records once per attempt (the servers it tried, the statuses they gave) for the access log's
 * {@code upstream_addr} and {@code upstream_status}: almost every request makes one attempt, so the first entry is a
 * field and only a retry makes a list. Joining one entry returns it as is.
 */
final class Trail {
    private String first;
    private List<String> more; // entries after the first, once a request is retried

    void add(String entry) {
        if (first == null) {
            first = entry;
        } else {
            if (more == null) {
                more = new ArrayList<>(2);
            }
            more.add(entry);
        }
    }

    /** The latest entry, or null when there is none. */
    String last() {
        return more != null ? more.get(more.size() - 1) : first;
    }

    /** The entries joined by {@code separator}; "" when there are none. */
    String join(String separator) {
        if (first == null) {
            return "";
        }
        if (more == null) {
            return first;
        }
        StringBuilder b = new StringBuilder(first);
        for (String e : more) {
            b.append(separator).append(e);
        }
        return b.toString();
    }
}
