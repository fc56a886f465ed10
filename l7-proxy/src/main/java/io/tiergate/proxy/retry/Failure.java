package io.tiergate.proxy.retry;

import io.netty.channel.ConnectTimeoutException;
import io.tiergate.proxy.config.RetryCondition;
import io.vertx.core.http.HttpClosedException;

import java.net.ConnectException;
import java.net.NoRouteToHostException;
import java.net.UnknownHostException;
import java.util.concurrent.TimeoutException;

/** Why an attempt failed before a usable response: the retry condition it maps to and what the client gets. */
public enum Failure {
    CONNECT(RetryCondition.CONNECT_ERROR, 502, "could not connect to upstream"),
    TIMEOUT(RetryCondition.TIMEOUT, 504, "upstream timed out"),
    RESET(RetryCondition.RESET, 502, "upstream closed the connection before responding"),
    /** A response that breaks HTTP/1.1 framing or syntax; retried like a reset (nothing usable was received). */
    INVALID(RetryCondition.RESET, 502, "upstream sent an invalid response");

    private final RetryCondition condition;
    private final int status;
    private final String message;

    Failure(RetryCondition condition, int status, String message) {
        this.condition = condition;
        this.status = status;
        this.message = message;
    }

    public RetryCondition condition() {
        return condition;
    }

    public int status() {
        return status;
    }

    public String message() {
        return message;
    }

    /** Failures of {@code client.request(...)}: no stream was obtained, so nothing was sent. */
    public static Failure ofConnect(Throwable t) {
        return isTimeout(t) && !(t instanceof ConnectTimeoutException) ? TIMEOUT : CONNECT;
    }

    /** Failures after the request went out, before the response head. */
    public static Failure ofExchange(Throwable t) {
        if (isTimeout(t)) {
            return TIMEOUT;
        }
        if (t instanceof ConnectException || t instanceof NoRouteToHostException || t instanceof UnknownHostException) {
            return CONNECT;
        }
        for (Throwable c = t; c != null; c = c.getCause()) {
            if (c instanceof io.netty.handler.codec.DecoderException || c instanceof IllegalArgumentException
                    || c instanceof io.netty.handler.codec.TooLongFrameException) {
                return INVALID;
            }
        }
        return RESET;
    }

    private static boolean isTimeout(Throwable t) {
        for (Throwable c = t; c != null; c = c.getCause()) {
            if (c instanceof TimeoutException || c instanceof ConnectTimeoutException
                    || c.getClass().getSimpleName().contains("Timeout")) {
                return true;
            }
        }
        return false;
    }

    /** Whether {@code t} is the pooled-connection race: the origin closed a kept-alive connection under us. */
    public static boolean isClosed(Throwable t) {
        return t instanceof HttpClosedException || (t != null && String.valueOf(t.getMessage()).contains("closed"));
    }
}
