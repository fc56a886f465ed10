package io.tiergate.cli.lab;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import java.util.zip.CRC32;

/**
 * A bounded load loop for the lab and the full-stack tests: N workers, each with its own keep-alive connection,
 * send GETs (or POSTs with a body) until the time is up, and count what a user would see: successes, errors and
 * which proxy node / origin answered. Errors keep their time so a failure test can say when they happened.
 */
public final class LoadGen {
    public record Summary(long requests, long ok, long errors, Map<String, Long> byNode, Map<String, Long> byOrigin,
                          List<String> errorSamples, List<Long> errorMillis, long elapsedMillis) {
        public String render() {
            StringBuilder sb = new StringBuilder();
            sb.append("requests=").append(requests).append(" ok=").append(ok).append(" errors=").append(errors)
                    .append(" rate=").append(elapsedMillis == 0 ? 0 : requests * 1000 / elapsedMillis).append("/s\n");
            sb.append("by proxy node: ").append(byNode).append('\n');
            sb.append("by origin: ").append(byOrigin).append('\n');
            if (!errorSamples.isEmpty()) {
                sb.append("errors at (ms since start): ").append(errorMillis).append('\n');
                sb.append("error samples: ").append(errorSamples).append('\n');
            }
            return sb.toString();
        }
    }

    private LoadGen() {
    }

    /** Runs for {@code duration}; {@code postBytes} &gt; 0 sends POSTs with a body of that size (checksummed). */
    public static Summary run(String url, int concurrency, Duration duration, int postBytes) throws InterruptedException {
        return run(url, concurrency, duration, postBytes, Options.NONE);
    }

    /**
     * For long runs (the operations drill): {@code errorPause} is how long a worker waits after a failed request
     * before the next one (a real client does not retry in a tight loop, so one outage is a few errors, not
     * thousands); {@code stopFile}, when it appears, ends the run early; {@code errorEpochMillis} collects the wall
     * time of every error, so the caller can tell which step of a long run it belongs to; {@code pause} is how long a
     * worker waits between two requests (zero: back to back, as much load as the machine allows; a few milliseconds
     * leave CPU for what the test does meanwhile, such as restarting a JVM, and leave each keep-alive connection idle
     * between requests, as real clients do, so a server closing idle connections is exercised too).
     */
    public record Options(Duration errorPause, java.nio.file.Path stopFile, java.util.Queue<Long> errorEpochMillis,
                          Duration pause) {
        static final Options NONE = new Options(Duration.ZERO, null, null, Duration.ZERO);
    }

    public static Summary run(String url, int concurrency, Duration duration, int postBytes, Options opt)
            throws InterruptedException {
        LongAdder requests = new LongAdder();
        LongAdder ok = new LongAdder();
        LongAdder errors = new LongAdder();
        Map<String, LongAdder> byNode = new ConcurrentHashMap<>();
        Map<String, LongAdder> byOrigin = new ConcurrentHashMap<>();
        ConcurrentLinkedQueue<String> samples = new ConcurrentLinkedQueue<>();
        ConcurrentLinkedQueue<Long> errorTimes = new ConcurrentLinkedQueue<>();
        AtomicLong sampleCount = new AtomicLong();
        byte[] body = new byte[Math.max(0, postBytes)];
        for (int i = 0; i < body.length; i++) {
            body[i] = (byte) ('a' + i % 26);
        }
        CRC32 crc = new CRC32();
        crc.update(body);
        String expectBody = postBytes > 0 ? "request body: " + postBytes + " bytes" : null;
        long start = System.nanoTime();
        long end = start + duration.toNanos();
        List<Thread> workers = new ArrayList<>();
        for (int w = 0; w < concurrency; w++) {
            Thread t = new Thread(() -> {
                HttpClient client = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2))
                        .version(HttpClient.Version.HTTP_1_1).build();
                while (System.nanoTime() < end && (opt.stopFile() == null || !java.nio.file.Files.exists(opt.stopFile()))) {
                    HttpRequest.Builder rb = HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(5));
                    if (postBytes > 0) {
                        rb.POST(HttpRequest.BodyPublishers.ofByteArray(body));
                    }
                    requests.increment();
                    String failure;
                    try {
                        HttpResponse<String> r = client.send(rb.build(), HttpResponse.BodyHandlers.ofString());
                        if (r.statusCode() == 200 && (expectBody == null || r.body().contains(expectBody))) {
                            ok.increment();
                            byNode.computeIfAbsent(r.headers().firstValue("X-Tiergate-Node").orElse("?"), k -> new LongAdder()).increment();
                            byOrigin.computeIfAbsent(r.headers().firstValue("X-Tiergate-Origin").orElse("?"), k -> new LongAdder()).increment();
                            if (!opt.pause().isZero()) {
                                Thread.sleep(opt.pause().toMillis());
                            }
                            continue;
                        }
                        failure = "HTTP " + r.statusCode() + (r.statusCode() == 200 ? " (body incomplete)" : "");
                    } catch (IOException e) {
                        failure = e.getClass().getSimpleName() + ": " + e.getMessage();
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                        return;
                    }
                    errors.increment();
                    errorTimes.add((System.nanoTime() - start) / 1_000_000);
                    if (opt.errorEpochMillis() != null) {
                        opt.errorEpochMillis().add(System.currentTimeMillis());
                    }
                    if (sampleCount.incrementAndGet() <= 10) {
                        samples.add(failure);
                    }
                    if (!opt.errorPause().isZero()) {
                        try {
                            Thread.sleep(opt.errorPause().toMillis());
                        } catch (InterruptedException e) {
                            Thread.currentThread().interrupt();
                            return;
                        }
                    }
                }
            }, "load-" + w);
            t.setDaemon(true);
            workers.add(t);
            t.start();
        }
        for (Thread t : workers) {
            t.join(duration.toMillis() + 15_000);
        }
        long elapsed = (System.nanoTime() - start) / 1_000_000;
        return new Summary(requests.sum(), ok.sum(), errors.sum(), counts(byNode), counts(byOrigin),
                List.copyOf(samples), List.copyOf(errorTimes).stream().sorted().limit(50).toList(), elapsed);
    }

    private static Map<String, Long> counts(Map<String, LongAdder> m) {
        Map<String, Long> out = new TreeMap<>();
        m.forEach((k, v) -> out.put(k, v.sum()));
        return out;
    }

    /**
     * Entry point for running inside the lab's client namespace: {@code URL CONCURRENCY SECONDS POST_BYTES
     * [ERROR_PAUSE_MS STOP_FILE [PAUSE_MS]]}; with the stop file it also prints {@code ERRORS_AT} and the epoch
     * milliseconds of every error (at most 10000).
     */
    public static void main(String[] args) throws Exception {
        java.util.Queue<Long> errorsAt = new ConcurrentLinkedQueue<>();
        Options opt = args.length >= 6
                ? new Options(Duration.ofMillis(Long.parseLong(args[4])), java.nio.file.Path.of(args[5]), errorsAt,
                        Duration.ofMillis(args.length >= 7 ? Long.parseLong(args[6]) : 0))
                : Options.NONE;
        Summary s = run(args[0], Integer.parseInt(args[1]), Duration.ofMillis((long) (Double.parseDouble(args[2]) * 1000)),
                Integer.parseInt(args[3]), opt);
        System.out.print(s.render());
        if (opt.errorEpochMillis() != null) {
            System.out.println("ERRORS_AT" + errorsAt.stream().limit(10_000).map(t -> " " + t)
                    .reduce("", String::concat));
        }
        System.out.println("RESULT " + s.requests() + " " + s.ok() + " " + s.errors());
    }
}
