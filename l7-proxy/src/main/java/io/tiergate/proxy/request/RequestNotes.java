package io.tiergate.proxy.request;

import java.util.ArrayList;
import java.util.List;

/**
 * What the front-door controls leave on a request for the stages after them: a note for the access log's
 * {@code limit} field (e.g. {@code limit_req:api:delayed}) and what to undo when the request ends (a limit_conn slot).
 * Used on the request's event loop only.
 */
public final class RequestNotes {
    private String limit;
    private List<Runnable> onEnd;
    private boolean ended;

    public String limit() {
        return limit;
    }

    public void limit(String note) {
        limit = limit == null ? note : limit + "," + note;
    }

    public void onEnd(Runnable r) {
        if (onEnd == null) {
            onEnd = new ArrayList<>(2);
        }
        onEnd.add(r);
    }

    /** The request is over (answered, failed or abandoned); runs each registered action once. */
    public void ended() {
        if (ended) {
            return;
        }
        ended = true;
        if (onEnd != null) {
            onEnd.forEach(Runnable::run);
        }
    }
}
