package io.tiergate.shared.metrics;

import io.micrometer.core.instrument.Tags;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.DoubleSupplier;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;

class GaugeRowsTest {

    private static Map<Tags, DoubleSupplier> rows(int round) {
        Map<Tags, DoubleSupplier> rows = new LinkedHashMap<>();
        for (int i = 0; i < 20; i++) {
            int v = (round + i) % 2;
            rows.put(Tags.of("upstream", "app", "server", "10.0.0." + i + ":8080"), () -> v);
        }
        if (round % 2 == 0) { // one row comes and goes, as a server that a reload adds and the next one removes
            rows.put(Tags.of("upstream", "app", "server", "10.0.1.1:8080"), () -> 1);
        }
        return rows;
    }

    private static long series(String scrape, String server) {
        return Pattern.compile("^test_server_up\\{.*server=\"" + Pattern.quote(server) + "\".*$", Pattern.MULTILINE)
                .matcher(scrape).results().count();
    }

    @Test
    void scrapesWhileTheRowsAreSetOverAndOverNeverFailAndShowEachRowOnce() throws Exception {
        scrapeWhileSetting(GaugeRowsTest::rows);
    }

    /**
     * A gauge of one row, as the certificate expiry of a node with one TLS certificate, refreshed every 30 s: replaced
     * by removing and adding it again, the gauge had no meter at all for an instant, and a scrape that saw the old
     * and the new one failed as a whole ("Duplicate labels").
     */
    @Test
    void aGaugeOfOneRowSetOverAndOverNeverFailsAScrape() throws Exception {
        scrapeWhileSetting(round -> Map.of(Tags.of("upstream", "app", "server", "10.0.0.7:8080"), () -> round % 7));
    }

    private void scrapeWhileSetting(java.util.function.IntFunction<Map<Tags, DoubleSupplier>> rowsOfRound)
            throws Exception {
        try (Metrics metrics = new Metrics()) {
            GaugeRows gauge = new GaugeRows(metrics.registry(), "test_server_up", "1 when up");
            gauge.set(rowsOfRound.apply(0));
            AtomicBoolean stop = new AtomicBoolean();
            AtomicInteger rounds = new AtomicInteger();
            Thread writer = new Thread(() -> {
                while (!stop.get()) {
                    gauge.set(rowsOfRound.apply(rounds.incrementAndGet()));
                }
            });
            writer.start();
            List<String> failures = new ArrayList<>();
            int scrapes = 0;
            long end = System.nanoTime() + 2_000_000_000L;
            try {
                while (System.nanoTime() < end || scrapes < 200) {
                    try {
                        String s = metrics.scrape();
                        scrapes++;
                        long once = series(s, "10.0.0.7:8080");
                        if (once != 1) {
                            failures.add("a steady row appeared " + once + " times");
                        }
                    } catch (RuntimeException e) {
                        failures.add(e.toString());
                    }
                }
            } finally {
                stop.set(true);
                writer.join();
            }
            assertThat(rounds.get()).as("the rows were set again while scraping").isGreaterThan(100);
            assertThat(failures).as("failed or wrong scrapes out of " + scrapes).isEmpty();
        }
    }

    @Test
    void aRowReadsItsNewestSupplierAndRowsThatAreGoneLeaveTheScrape() {
        try (Metrics metrics = new Metrics()) {
            GaugeRows gauge = new GaugeRows(metrics.registry(), "test_server_up", "1 when up");
            AtomicReference<Double> live = new AtomicReference<>(1.0);
            Tags a = Tags.of("server", "a");
            Tags b = Tags.of("server", "b");
            gauge.set(Map.of(a, () -> 0, b, () -> 1));
            gauge.set(Map.of(a, live::get)); // after a reload: a's peer is a new object, b is gone
            live.set(1.0);
            String s = metrics.scrape();
            assertThat(s).contains("test_server_up{server=\"a\"} 1.0").doesNotContain("server=\"b\"");
            live.set(0.0);
            assertThat(metrics.scrape()).contains("test_server_up{server=\"a\"} 0.0");
            gauge.setValues(Map.of(b, 42.0));
            assertThat(metrics.scrape()).contains("test_server_up{server=\"b\"} 42.0").doesNotContain("server=\"a\"");
        }
    }
}
