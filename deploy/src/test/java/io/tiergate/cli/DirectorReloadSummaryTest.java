package io.tiergate.cli;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import io.tiergate.director.Director;
import io.tiergate.director.config.DirectorConfig;
import io.vertx.core.Vertx;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.LoggerFactory;

import java.net.ConnectException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * A director reload says in one INFO line what it changed (services, real servers, the admin address, which it
 * moves) and names each changed key that needs a restart; a rejected file is a WARN and a failed-reload count.
 */
@Timeout(60)
class DirectorReloadSummaryTest {
    @TempDir
    Path dir;
    Vertx vertx = Vertx.vertx();
    Director director;
    final ListAppender<ILoggingEvent> events = new ListAppender<>();
    final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    @AfterEach
    void stop() throws Exception {
        ((Logger) LoggerFactory.getLogger(DirectorReloader.class)).detachAppender(events);
        if (director != null) {
            director.close();
        }
        vertx.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    }

    private static String yaml(int admin, String seed, String services) {
        return """
                director:
                  dataplane: userspace
                  admin: 127.0.0.1:%d
                  hash_seed: %s
                  services:
                %s""".formatted(admin, seed, services);
    }

    private String get(int port, String path) throws Exception {
        return http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
                .timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString()).body();
    }

    @Test
    void oneLineSaysWhatChangedAndWhatNeedsARestart() throws Exception {
        int admin1 = DirectorReloadProcessTest.freePort();
        int admin2 = DirectorReloadProcessTest.freePort();
        int web = DirectorReloadProcessTest.freePort();
        int api = DirectorReloadProcessTest.freePort();
        Path file = dir.resolve("director.yaml");
        Files.writeString(file, yaml(admin1, "1", DirectorReloadProcessTest.service("web", web)));
        TiergateConfig first = TiergateConfig.load(file);
        DirectorConfig dc = first.director().orElseThrow();
        director = Director.start(vertx, dc);
        Logger logger = (Logger) LoggerFactory.getLogger(DirectorReloader.class);
        events.start();
        logger.addAppender(events);
        DirectorReloader reloader = new DirectorReloader(file, first, director);

        Files.writeString(file, yaml(admin2, "2", DirectorReloadProcessTest.service("web", web)
                .replace("[127.0.0.1:9]", "[127.0.0.1:9, 127.0.0.1:10]")
                + DirectorReloadProcessTest.service("api", api)));
        reloader.reload();
        assertThat(events.list).hasSize(1);
        ILoggingEvent line = events.list.get(0);
        assertThat(line.getLevel().toString()).isEqualTo("INFO");
        assertThat(line.getFormattedMessage())
                .startsWith("reloaded " + file + ": ")
                .contains("+service web real server 127.0.0.1:10")
                .contains("+service api tcp/127.0.0.1:" + api)
                .contains("admin 127.0.0.1:" + admin1 + " -> 127.0.0.1:" + admin2)
                .endsWith("; needs restart: hash_seed");
        assertThat(DirectorReloadProcessTest.status(admin2)).as("the admin API moved, with the new service")
                .contains("(api)");
        assertThatThrownBy(() -> get(admin1, "/api/status")).isInstanceOf(ConnectException.class);

        Files.writeString(file, "director: {services: {web: {vip: nope}}}\n");
        reloader.reload();
        assertThat(events.list).hasSize(2);
        assertThat(events.list.get(1).getLevel().toString()).isEqualTo("WARN");
        assertThat(events.list.get(1).getFormattedMessage()).startsWith("reload rejected, still running the previous"
                + " config:").contains(file + ":1:");
        String metrics = get(admin2, "/metrics");
        assertThat(metrics)
                .containsPattern("tiergate_config_reloads_total\\{[^}]*result=\"success\"[^}]*\\} 1\\.0")
                .containsPattern("tiergate_config_reloads_total\\{[^}]*result=\"failure\"[^}]*\\} 1\\.0");
    }
}
