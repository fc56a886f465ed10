package io.tiergate.cli.lab;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;

/**
 * Traffic for the scale-out lab, as a user sees it: {@code long} keep-alive connections that each send a request
 * every 100 ms for the whole run (an established flow that must never break, whichever director carries it), plus
 * {@code rate} new connections per second with one request each. Prints one {@code LONG} line per long-lived
 * connection (client port, proxy node, requests, errors, first error), one {@code NEW} line per failed new
 * connection, and a {@code RESULT} line.
 *
 * <pre>java -cp tiergate.jar io.tiergate.cli.lab.FlowGen VIP PORT LONG SECONDS RATE</pre>
 */
public final class FlowGen {
    private FlowGen() {
    }

    private static final class Long1 {
        volatile int port;
        volatile String node = "-";
        volatile long ok;
        volatile long errors;
        volatile long firstErrorMs = -1;
        volatile String error = "";
    }

    public static void main(String[] args) throws Exception {
        String host = args[0];
        int port = Integer.parseInt(args[1]);
        int longCount = Integer.parseInt(args[2]);
        double seconds = Double.parseDouble(args[3]);
        double rate = Double.parseDouble(args[4]);
        long start = System.nanoTime();
        long end = start + (long) (seconds * 1e9);
        List<Long1> longs = new ArrayList<>();
        List<Thread> threads = new ArrayList<>();
        for (int i = 0; i < longCount; i++) {
            Long1 l = new Long1();
            longs.add(l);
            Thread t = new Thread(() -> longLived(host, port, l, start, end), "long-" + i);
            threads.add(t);
            t.start();
        }
        ConcurrentLinkedQueue<String> failures = new ConcurrentLinkedQueue<>();
        long[] newOk = new long[1];
        ExecutorService pool = Executors.newFixedThreadPool(16);
        long n = 0;
        java.util.concurrent.atomic.AtomicLong ok = new java.util.concurrent.atomic.AtomicLong();
        while (rate > 0 && System.nanoTime() < end) {
            long due = start + (long) (n * 1e9 / rate);
            long wait = due - System.nanoTime();
            if (wait > 0) {
                TimeUnit.NANOSECONDS.sleep(wait);
            }
            n++;
            long at = (System.nanoTime() - start) / 1_000_000;
            pool.execute(() -> {
                try (Socket s = new Socket()) {
                    s.connect(new InetSocketAddress(host, port), 5000);
                    s.setSoTimeout(5000);
                    request(s.getOutputStream(), s.getInputStream());
                    ok.incrementAndGet();
                } catch (IOException e) {
                    failures.add("NEW at=" + at + "ms error=" + e);
                }
            });
        }
        pool.shutdown();
        pool.awaitTermination(15, TimeUnit.SECONDS);
        for (Thread t : threads) {
            t.join(15_000);
        }
        newOk[0] = ok.get();
        long broken = 0;
        for (Long1 l : longs) {
            System.out.println(String.format(Locale.ROOT, "LONG port=%d node=%s ok=%d errors=%d firstErrorMs=%d %s",
                    l.port, l.node, l.ok, l.errors, l.firstErrorMs, l.error));
            if (l.errors > 0 || l.ok == 0) {
                broken++;
            }
        }
        failures.forEach(System.out::println);
        System.out.println("RESULT long=" + longCount + " longBroken=" + broken + " newOk=" + newOk[0] + " newFailed="
                + failures.size());
        System.out.flush();
        System.exit(0);
    }

    private static void longLived(String host, int port, Long1 l, long start, long end) {
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress(host, port), 5000);
            s.setSoTimeout(10_000);
            l.port = s.getLocalPort();
            OutputStream out = s.getOutputStream();
            InputStream in = s.getInputStream();
            while (System.nanoTime() < end) {
                l.node = request(out, in);
                l.ok++;
                Thread.sleep(100);
            }
        } catch (IOException | InterruptedException e) {
            l.errors++;
            l.firstErrorMs = (System.nanoTime() - start) / 1_000_000;
            l.error = "error=" + e.toString().replace(' ', '_');
        }
    }

    /** One GET on the connection; returns the proxy node that answered. Throws unless the answer is a whole 200. */
    private static String request(OutputStream out, InputStream in) throws IOException {
        out.write("GET / HTTP/1.1\r\nHost: lab\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
        out.flush();
        ByteArrayOutputStream head = new ByteArrayOutputStream();
        int state = 0;
        while (state < 4) {
            int b = in.read();
            if (b < 0) {
                throw new IOException("connection closed by the server");
            }
            head.write(b);
            state = (b == '\r' && (state == 0 || state == 2)) || (b == '\n' && (state == 1 || state == 3)) ? state + 1
                    : b == '\r' ? 1 : 0;
        }
        String h = head.toString(StandardCharsets.ISO_8859_1);
        if (!h.startsWith("HTTP/1.1 200")) {
            throw new IOException("status " + h.lines().findFirst().orElse(""));
        }
        long length = 0;
        String node = "-";
        for (String line : h.split("\r\n")) {
            String lower = line.toLowerCase(Locale.ROOT);
            if (lower.startsWith("content-length:")) {
                length = Long.parseLong(line.substring(15).trim());
            } else if (lower.startsWith("x-tiergate-node:")) {
                node = line.substring(16).trim();
            }
        }
        for (long left = length; left > 0; ) {
            long skipped = in.skip(left);
            if (skipped <= 0) {
                if (in.read() < 0) {
                    throw new IOException("body cut short");
                }
                skipped = 1;
            }
            left -= skipped;
        }
        return node;
    }
}
