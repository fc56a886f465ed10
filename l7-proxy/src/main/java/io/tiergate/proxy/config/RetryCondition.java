package io.tiergate.proxy.config;

import io.tiergate.shared.config.ConfigEnum;

/** What may make the proxy try another upstream server (nginx: {@code proxy_next_upstream}). */
public enum RetryCondition implements ConfigEnum {
    /** The connection could not be established: the request never left, safe for every method. */
    CONNECT_ERROR("connect_error"),
    /** No response byte within the read timeout. */
    TIMEOUT("timeout"),
    /** The connection closed or was reset before the response head arrived. */
    RESET("reset"),
    HTTP_429("http_429"),
    HTTP_500("http_500"),
    HTTP_502("http_502"),
    HTTP_503("http_503"),
    HTTP_504("http_504");

    private final String configName;

    RetryCondition(String configName) {
        this.configName = configName;
    }

    @Override
    public String configName() {
        return configName;
    }

    /** The condition a response status stands for, or null when that status is never retried. */
    public static RetryCondition ofStatus(int status) {
        return switch (status) {
            case 429 -> HTTP_429;
            case 500 -> HTTP_500;
            case 502 -> HTTP_502;
            case 503 -> HTTP_503;
            case 504 -> HTTP_504;
            default -> null;
        };
    }
}
