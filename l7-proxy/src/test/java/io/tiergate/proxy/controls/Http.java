package io.tiergate.proxy.controls;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** One HTTP/1.1 request per TCP connection from a chosen local address: each call is a new connection. */
final class Http {
    private Http() {
    }

    record Reply(int status, String head, String body) {
        String header(String name) {
            Matcher m = Pattern.compile("(?im)^" + Pattern.quote(name) + ":\\s*(.*?)\\r?$").matcher(head);
            return m.find() ? m.group(1) : null;
        }
    }

    static Reply get(String address, int port, String path, String... headers) {
        StringBuilder req = new StringBuilder("GET " + path + " HTTP/1.1\r\nHost: test\r\nConnection: close\r\n");
        for (int i = 0; i + 1 < headers.length; i += 2) {
            req.append(headers[i]).append(": ").append(headers[i + 1]).append("\r\n");
        }
        req.append("\r\n");
        try (Socket s = new Socket(InetAddress.getByName(address), port)) {
            s.setSoTimeout(20_000);
            OutputStream out = s.getOutputStream();
            out.write(req.toString().getBytes(StandardCharsets.ISO_8859_1));
            out.flush();
            String all = new String(readAll(s.getInputStream()), StandardCharsets.ISO_8859_1);
            int end = all.indexOf("\r\n\r\n");
            if (!all.startsWith("HTTP/1.1 ") || end < 0) {
                throw new AssertionError("no HTTP response: '" + all + "'");
            }
            return new Reply(Integer.parseInt(all.substring(9, 12)), all.substring(0, end), all.substring(end + 4));
        } catch (IOException e) {
            throw new RuntimeException(e);
        }
    }

    static byte[] readAll(InputStream in) throws IOException {
        return in.readAllBytes();
    }

    /**
     * Statuses of {@code n} GETs on one keep-alive connection, each with {@code header: prefix + i}, pipelined in
     * windows of 100 (write 100, read 100 answers).
     */
    static List<Integer> pipelined(int port, String path, int n, String header, String prefix) throws IOException {
        List<Integer> statuses = new ArrayList<>();
        try (Socket s = new Socket("127.0.0.1", port)) {
            s.setSoTimeout(60_000);
            OutputStream out = s.getOutputStream();
            InputStream in = new java.io.BufferedInputStream(s.getInputStream());
            StringBuilder line = new StringBuilder();
            for (int from = 0; from < n; from += 100) {
                int to = Math.min(n, from + 100);
                StringBuilder b = new StringBuilder();
                for (int i = from; i < to; i++) {
                    b.append("GET ").append(path).append(" HTTP/1.1\r\nHost: test\r\n").append(header).append(": ")
                            .append(prefix).append(i).append("\r\n\r\n");
                }
                out.write(b.toString().getBytes(StandardCharsets.ISO_8859_1));
                out.flush();
                int want = statuses.size() + (to - from);
                int c;
                while (statuses.size() < want && (c = in.read()) >= 0) {
                    if (c != '\n') {
                        line.append((char) c);
                        continue;
                    }
                    String l = line.toString().trim();
                    line.setLength(0);
                    if (l.startsWith("HTTP/1.1 ")) {
                        statuses.add(Integer.parseInt(l.substring(9, 12)));
                    }
                }
                if (statuses.size() < want) {
                    break; // closed early: the caller sees the short count
                }
            }
        }
        return statuses;
    }

    /** The lines of {@code file} once it has at least {@code lines} (or whatever it has after 10 s). */
    static List<String> awaitLines(java.nio.file.Path file, int lines) throws Exception {
        long deadline = System.nanoTime() + java.time.Duration.ofSeconds(10).toNanos();
        List<String> l = List.of();
        while (System.nanoTime() < deadline) {
            l = java.nio.file.Files.readAllLines(file);
            if (l.size() >= lines) {
                return l;
            }
            Thread.sleep(50);
        }
        return l;
    }
}
