package io.tiergate.proxy.support;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketException;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A hostile origin: a plain ServerSocket on 127.0.0.1 that answers each request with the exact bytes a test scripts
 * (stalls, over-long bodies, garbage, 1xx sequences), so the proxy's HTTP client meets what no well-behaved server
 * library would send. It records every request head it read, which connection it came on, and how many connections
 * were opened, so a test can tell a reused upstream connection from a new one.
 */
public final class ScriptedOrigin implements AutoCloseable {
    /** One request as it arrived: the head as text (CRLFs kept), its body, and the 1-based connection it came on. */
    public record Request(int connection, String head, byte[] body) {
        public String requestLine() {
            return head.substring(0, head.indexOf("\r\n"));
        }

        /** The first value of a header, or null (case-insensitive name). */
        public String header(String name) {
            for (String line : head.split("\r\n")) {
                int c = line.indexOf(':');
                if (c > 0 && line.substring(0, c).trim().equalsIgnoreCase(name)) {
                    return line.substring(c + 1).trim();
                }
            }
            return null;
        }

        public List<String> headers(String name) {
            List<String> all = new java.util.ArrayList<>();
            for (String line : head.split("\r\n")) {
                int c = line.indexOf(':');
                if (c > 0 && line.substring(0, c).trim().equalsIgnoreCase(name)) {
                    all.add(line.substring(c + 1).trim());
                }
            }
            return all;
        }
    }

    /** What the origin does with one request on a connection. */
    public interface Script {
        void answer(Conn conn, Request request) throws Exception;
    }

    /** The origin's side of one connection, as a script uses it. */
    public static final class Conn {
        private final Socket socket;
        private final OutputStream out;
        private final InputStream in;
        private boolean closed;

        Conn(Socket socket) throws IOException {
            this.socket = socket;
            this.out = socket.getOutputStream();
            this.in = socket.getInputStream();
        }

        public Conn write(String bytes) throws IOException {
            out.write(bytes.getBytes(StandardCharsets.ISO_8859_1));
            out.flush();
            return this;
        }

        public Conn pause(long millis) throws InterruptedException {
            Thread.sleep(millis);
            return this;
        }

        /** Holds the connection open and silent until the peer closes it (or {@code millis} pass). */
        public void stall(long millis) throws IOException {
            socket.setSoTimeout((int) millis);
            try {
                while (in.read() >= 0) {
                    // discard: a stalled origin reads nothing meaningful
                }
            } catch (java.net.SocketTimeoutException | SocketException e) {
                // the stall ran its course, or the proxy reset
            }
            close();
        }

        public void close() throws IOException {
            closed = true;
            socket.close();
        }

        boolean closed() {
            return closed;
        }
    }

    public final AtomicInteger connections = new AtomicInteger();
    public final List<Request> received = new CopyOnWriteArrayList<>();
    private final ServerSocket server;
    private final ExecutorService threads = Executors.newCachedThreadPool(r -> {
        Thread t = new Thread(r, "scripted-origin");
        t.setDaemon(true);
        return t;
    });
    private final ConcurrentLinkedQueue<Socket> open = new ConcurrentLinkedQueue<>();
    private final ConcurrentLinkedQueue<Script> queued = new ConcurrentLinkedQueue<>();
    private volatile Script fallback;

    private ScriptedOrigin(Script fallback) throws IOException {
        this.fallback = fallback;
        this.server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
        threads.execute(this::acceptLoop);
    }

    /** An origin that answers every request with {@code fallback} unless a test {@link #then queued} a script. */
    public static ScriptedOrigin start(Script fallback) {
        try {
            return new ScriptedOrigin(fallback);
        } catch (IOException e) {
            throw new RuntimeException(e);
        }
    }

    /** A well-behaved answer: 200 with {@code body} and its Content-Length, connection kept open. */
    public static Script ok(String body) {
        return (c, r) -> c.write("HTTP/1.1 200 OK\r\nContent-Length: " + body.length() + "\r\n\r\n" + body);
    }

    /** The next request (on any connection) is answered by {@code s}; later ones by the next queued or fallback. */
    public ScriptedOrigin then(Script s) {
        queued.add(s);
        return this;
    }

    public void fallback(Script s) {
        fallback = s;
    }

    public int port() {
        return server.getLocalPort();
    }

    public String address() {
        return "127.0.0.1:" + port();
    }

    public Request last() {
        return received.get(received.size() - 1);
    }

    private void acceptLoop() {
        while (!server.isClosed()) {
            try {
                Socket s = server.accept();
                open.add(s);
                int n = connections.incrementAndGet();
                threads.execute(() -> serve(s, n));
            } catch (IOException e) {
                return; // closed
            }
        }
    }

    private void serve(Socket s, int n) {
        try (s) {
            Conn conn = new Conn(s);
            InputStream in = s.getInputStream();
            while (!conn.closed()) {
                Request r = readRequest(in, n);
                if (r == null) {
                    return;
                }
                received.add(r);
                Script next = queued.poll();
                (next == null ? fallback : next).answer(conn, r);
            }
        } catch (IOException e) {
            // the proxy closed or reset the connection: that is an outcome tests look at, not an error here
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (Exception e) {
            throw new IllegalStateException("a test's origin script failed", e);
        } finally {
            open.remove(s);
        }
    }

    /** Reads one request head (and a Content-Length or chunked body); null at a clean end of stream. */
    private static Request readRequest(InputStream in, int connection) throws IOException {
        ByteArrayOutputStream head = new ByteArrayOutputStream();
        int state = 0;
        while (state < 4) {
            int b = in.read();
            if (b < 0) {
                return null;
            }
            head.write(b);
            state = (b == '\r' && (state == 0 || state == 2)) || (b == '\n' && (state == 1 || state == 3))
                    ? state + 1 : (b == '\r' ? 1 : 0);
        }
        String text = head.toString(StandardCharsets.ISO_8859_1);
        Request bare = new Request(connection, text, new byte[0]);
        String cl = bare.header("Content-Length");
        String te = bare.header("Transfer-Encoding");
        byte[] body = new byte[0];
        if (cl != null) {
            body = in.readNBytes(Integer.parseInt(cl));
        } else if (te != null && te.toLowerCase(Locale.ROOT).contains("chunked")) {
            body = readChunked(in);
        }
        return new Request(connection, text, body);
    }

    private static byte[] readChunked(InputStream in) throws IOException {
        ByteArrayOutputStream body = new ByteArrayOutputStream();
        while (true) {
            String size = line(in);
            int n = Integer.parseInt(size.split(";")[0].trim(), 16);
            if (n == 0) {
                while (!line(in).isEmpty()) {
                    // trailers
                }
                return body.toByteArray();
            }
            body.write(in.readNBytes(n));
            line(in);
        }
    }

    private static String line(InputStream in) throws IOException {
        StringBuilder sb = new StringBuilder();
        for (int b; (b = in.read()) >= 0 && b != '\n'; ) {
            if (b != '\r') {
                sb.append((char) b);
            }
        }
        return sb.toString();
    }

    @Override
    public void close() {
        try {
            server.close();
        } catch (IOException ignored) {
            // closing a test server
        }
        for (Socket s : open) {
            try {
                s.close();
            } catch (IOException ignored) {
                // already gone
            }
        }
        threads.shutdownNow();
    }
}
