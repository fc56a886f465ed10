package io.tiergate.shared;

import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import java.util.function.Supplier;

/** Test help for driving Vert.x clients from a test's own thread. */
public final class Contexts {
    private Contexts() {
    }

    /**
     * Builds and starts {@code call} (a client request chain) on a context of {@code vertx}, the client's. Started on a
     * plain thread, the chain's callbacks are queued to the context while the connection goes on reading, so a body
     * can arrive before {@code resp.body()} (or a handler) is set and be lost; on the context they run in order.
     */
    public static <T> Future<T> onContext(Vertx vertx, Supplier<Future<T>> call) {
        Promise<T> result = Promise.promise();
        // Future.future: should call.get() throw, the result fails with it (rather than never completing)
        vertx.runOnContext(v -> Future.<T>future(p -> call.get().onComplete(p)).onComplete(result));
        return result.future();
    }
}
