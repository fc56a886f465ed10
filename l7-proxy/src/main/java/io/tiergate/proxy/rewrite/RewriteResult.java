package io.tiergate.proxy.rewrite;

/** What the rewrite stage decided for a request. */
public sealed interface RewriteResult {
    /**
     * Go on with {@code uri}. {@code reroute} (nginx's {@code last}) asks the caller to select the location again for
     * the new URI and run that location's program.
     */
    record Continue(String uri, boolean reroute) implements RewriteResult {
    }

    /** Answer with a redirect (301, 302, 303, 307, 308). */
    record Redirect(int status, String location) implements RewriteResult {
    }

    /** Answer with this status and body (may be empty). */
    record Return(int status, String body) implements RewriteResult {
    }
}
