package io.tiergate.shared.logging;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.slf4j.MDC;

class LoggingTest {

    private static final Logger log = LoggerFactory.getLogger("tiergate.test");

    @AfterEach
    void restore() {
        Logging.configure("text", "info");
    }

    @Test
    void jsonLinesParseEvenWithQuotesNewlinesControlCharsAndStackTraces() throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        Logging.configure("json", "debug", out);
        MDC.put("vs", "web\"1");
        try {
            log.info("quote \" backslash \\ newline \n tab \t bell \u0007 unicode é ✓");
        } finally {
            MDC.clear();
        }
        log.debug("second {}", 2);
        log.trace("not shown at debug");
        log.error("failed", new IllegalStateException("boom"));

        String[] lines = out.toString(StandardCharsets.UTF_8).split("\n");
        assertThat(lines).as("one line per event").hasSize(3);
        ObjectMapper json = new ObjectMapper();
        JsonNode first = json.readTree(lines[0]);
        assertThat(first.get("message").asText()).isEqualTo("quote \" backslash \\ newline \n tab \t bell \u0007 unicode é ✓");
        assertThat(first.get("level").asText()).isEqualTo("INFO");
        assertThat(first.get("logger").asText()).isEqualTo("tiergate.test");
        assertThat(first.get("ts").asText()).matches("\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d(\\.\\d+)?Z");
        assertThat(first.get("mdc").get("vs").asText()).isEqualTo("web\"1");
        assertThat(json.readTree(lines[1]).get("message").asText()).isEqualTo("second 2");
        JsonNode err = json.readTree(lines[2]);
        assertThat(err.get("exception").asText()).contains("IllegalStateException: boom").contains("at io.tiergate");
    }

    @Test
    void textLinesHaveUtcTimestampLevelThreadLoggerAndMessage() {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        Logging.configure("text", "INFO", out);
        log.info("hello");
        log.debug("hidden");
        String text = out.toString(StandardCharsets.UTF_8);
        assertThat(text).matches("\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{3}Z INFO  \\[[^]]+] tiergate\\.test - hello\\R");
    }

    @Test
    void badArgumentsAreNamed() {
        assertThatThrownBy(() -> Logging.configure("xml", "info")).hasMessage("log format: xml (expected: text or json)");
        assertThatThrownBy(() -> Logging.configure("text", "loud"))
                .hasMessage("log level: loud (expected: trace, debug, info, warn, error or off)");
    }
}
