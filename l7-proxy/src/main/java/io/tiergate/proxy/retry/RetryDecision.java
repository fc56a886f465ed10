package io.tiergate.proxy.retry;

import io.tiergate.proxy.config.RetryCondition;
import io.tiergate.proxy.config.RetryPolicy;
import io.vertx.core.http.HttpMethod;

import java.util.Set;

/**
 * Whether a failed attempt may be tried again, apart from the budget (which the upstream group owns). The rules a
 * user can rely on: never after response bytes reached the client (callers don't ask then); only for configured
 * conditions; only while tries and total time remain; only with a body that can be replayed; and a non-idempotent
 * request only when it provably never left (connect error) or the location allows it.
 */
public final class RetryDecision {
    private static final Set<HttpMethod> IDEMPOTENT = Set.of(HttpMethod.GET, HttpMethod.HEAD, HttpMethod.OPTIONS,
            HttpMethod.TRACE, HttpMethod.PUT, HttpMethod.DELETE);

    /** Every reason a retry is not made: {@link #refuse}'s, and the budget's (the metric's series exist from start). */
    public static final java.util.List<String> REFUSALS = java.util.List.of("not-retryable", "tries-exhausted",
            "retry-timeout", "body-streamed", "non-idempotent", "budget-exhausted");

    private RetryDecision() {
    }

    public static boolean idempotent(HttpMethod m) {
        return IDEMPOTENT.contains(m);
    }

    /** Null when a retry is allowed; otherwise the reason it is not (it goes to the access log). */
    public static String refuse(RetryPolicy policy, RetryCondition condition, HttpMethod method, int triesDone,
                                long nanosLeft, boolean bodyReplayable) {
        if (condition == null || !policy.retries(condition)) {
            return "not-retryable";
        }
        if (triesDone >= policy.tries()) {
            return "tries-exhausted";
        }
        if (nanosLeft <= 0) {
            return "retry-timeout";
        }
        boolean neverSent = condition == RetryCondition.CONNECT_ERROR;
        if (!bodyReplayable && !neverSent) {
            return "body-streamed";
        }
        if (!idempotent(method) && !neverSent && !policy.nonIdempotent()) {
            return "non-idempotent";
        }
        return null;
    }
}
