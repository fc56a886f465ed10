package io.tiergate.proxy.request;

import io.netty.handler.codec.http.HttpHeaders;
import io.netty.util.AsciiString;
import io.vertx.core.MultiMap;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/** A header's values without the garbage of {@link MultiMap#getAll} for the usual single value. */
public final class HeaderValues {
    private HeaderValues() {
    }

    /**
     * The values of {@code name}, in order. On Vert.x's header maps (Netty HttpHeaders) a walk over the entries, so the
     * usual single value costs no linked list, node and view as {@code getAll} makes.
     */
    public static List<String> of(MultiMap in, CharSequence name) {
        if (!(in instanceof HttpHeaders netty)) {
            return in.getAll(name);
        }
        String one = null;
        List<String> all = null;
        for (var it = netty.iteratorCharSequence(); it.hasNext(); ) {
            Map.Entry<CharSequence, CharSequence> e = it.next();
            if (AsciiString.contentEqualsIgnoreCase(e.getKey(), name)) {
                String v = e.getValue().toString();
                if (one == null) {
                    one = v;
                } else {
                    if (all == null) {
                        all = new ArrayList<>(4);
                        all.add(one);
                    }
                    all.add(v);
                }
            }
        }
        return all != null ? all : one != null ? List.of(one) : List.of();
    }
}
