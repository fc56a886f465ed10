package io.tiergate.proxy.support;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.SocketException;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * What an HTTP/1.1 client on a raw socket saw of one response: the interim (1xx) heads before it, the final head,
 * the body, and whether the response was complete by its own framing or cut by a close. Reading by framing (not
 * until close) is what lets a test tell "a short but complete body" from "a truncated one".
 */
public record RawResponse(List<String> interim, String head, String body, boolean complete, boolean closed,
                          Duration elapsed) {

    public int status() {
        return head.isEmpty() ? -1 : Integer.parseInt(head.substring(9, 12));
    }

    public String header(String name) {
        for (String line : head.split("\r\n")) {
            int c = line.indexOf(':');
            if (c > 0 && line.substring(0, c).trim().equalsIgnoreCase(name)) {
                return line.substring(c + 1).trim();
            }
        }
        return null;
    }

    /** Sends {@code request} on a new connection and reads one response (at most {@code limit} in all). */
    public static RawResponse exchange(int port, String request, Duration limit) {
        try (Socket s = new Socket("127.0.0.1", port)) {
            s.setSoTimeout((int) limit.toMillis());
            OutputStream out = s.getOutputStream();
            out.write(request.getBytes(StandardCharsets.ISO_8859_1));
            out.flush();
            return read(s.getInputStream(), System.nanoTime());
        } catch (IOException e) {
            throw new RuntimeException(e);
        }
    }

    /** Reads one response from {@code in}; {@code t0} is when the request was sent. */
    public static RawResponse read(InputStream in, long t0) throws IOException {
        List<String> interim = new ArrayList<>();
        String head;
        while (true) {
            head = readHead(in);
            if (head == null) {
                return new RawResponse(interim, "", "", false, true, since(t0));
            }
            int status = Integer.parseInt(head.substring(9, 12));
            if (status >= 200 || status == 101) {
                break;
            }
            interim.add(head);
        }
        RawResponse bare = new RawResponse(interim, head, "", false, false, Duration.ZERO);
        ByteArrayOutputStream body = new ByteArrayOutputStream();
        String cl = bare.header("Content-Length");
        String te = bare.header("Transfer-Encoding");
        int status = bare.status();
        boolean complete;
        boolean closed = false;
        try {
            if (status == 204 || status == 304) {
                complete = true;
            } else if (te != null && te.toLowerCase(Locale.ROOT).contains("chunked")) {
                complete = readChunked(in, body);
            } else if (cl != null) {
                int n = Integer.parseInt(cl);
                byte[] b = in.readNBytes(n);
                body.write(b);
                complete = b.length == n;
            } else {
                in.transferTo(body); // delimited by close
                complete = true;
                closed = true;
            }
        } catch (SocketTimeoutException e) {
            complete = false;
        } catch (SocketException e) {
            complete = false;
            closed = true;
        }
        if (!complete) {
            closed = closed || endOfStream(in);
        }
        return new RawResponse(interim, head, body.toString(StandardCharsets.ISO_8859_1), complete, closed,
                since(t0));
    }

    private static boolean endOfStream(InputStream in) {
        try {
            return in.read() < 0;
        } catch (SocketTimeoutException e) {
            return false;
        } catch (IOException e) {
            return true; // reset
        }
    }

    private static Duration since(long t0) {
        return Duration.ofNanos(System.nanoTime() - t0);
    }

    private static String readHead(InputStream in) throws IOException {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        int state = 0;
        try {
            while (state < 4) {
                int c = in.read();
                if (c < 0) {
                    return null;
                }
                b.write(c);
                state = (c == '\r' && (state == 0 || state == 2)) || (c == '\n' && (state == 1 || state == 3))
                        ? state + 1 : (c == '\r' ? 1 : 0);
            }
        } catch (SocketException e) {
            return null;
        }
        return b.toString(StandardCharsets.ISO_8859_1);
    }

    private static boolean readChunked(InputStream in, ByteArrayOutputStream body) throws IOException {
        while (true) {
            String size = line(in);
            if (size == null) {
                return false;
            }
            int n = Integer.parseInt(size.split(";")[0].trim(), 16);
            if (n == 0) {
                String t;
                while ((t = line(in)) != null && !t.isEmpty()) {
                    // trailers
                }
                return t != null;
            }
            byte[] b = in.readNBytes(n);
            body.write(b);
            if (b.length < n || line(in) == null) {
                return false;
            }
        }
    }

    private static String line(InputStream in) throws IOException {
        StringBuilder sb = new StringBuilder();
        int c;
        while ((c = in.read()) >= 0 && c != '\n') {
            if (c != '\r') {
                sb.append((char) c);
            }
        }
        return c < 0 && sb.length() == 0 ? null : sb.toString();
    }
}
