package io.tiergate.proxy.support;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/**
 * A raw origin on 127.0.0.1:0: a plain socket server (no HTTP library that could normalize anything) that records
 * the exact bytes of every request it receives and answers each with a fixed 200. Requests are split by their own
 * framing (Content-Length or chunked), so two requests on one connection are two records.
 */
public final class RecordingOrigin implements AutoCloseable {
    /** One request as received: its head (request line and fields, raw) and its body bytes (de-chunked). */
    public record Request(String head, byte[] body) {
        public String requestLine() {
            return head.substring(0, head.indexOf("\r\n"));
        }

        /** Every value of the field {@code name} (case-insensitive), in order. */
        public List<String> field(String name) {
            List<String> out = new ArrayList<>();
            for (String line : head.split("\r\n")) {
                int c = line.indexOf(':');
                if (c > 0 && line.substring(0, c).equalsIgnoreCase(name)) {
                    out.add(line.substring(c + 1).trim());
                }
            }
            return out;
        }
    }

    private static final byte[] RESPONSE = ("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 9\r\n\r\n"
            + "from-orig").getBytes(StandardCharsets.ISO_8859_1);
    private final ServerSocket server;
    private final ExecutorService pool = Executors.newCachedThreadPool(r -> {
        Thread t = new Thread(r, "recording-origin");
        t.setDaemon(true);
        return t;
    });
    private final List<Request> received = new CopyOnWriteArrayList<>();

    public RecordingOrigin() throws IOException {
        server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
        pool.execute(this::accept);
    }

    public String address() {
        return "127.0.0.1:" + server.getLocalPort();
    }

    public List<Request> received() {
        return List.copyOf(received);
    }

    public void clear() {
        received.clear();
    }

    private void accept() {
        while (!server.isClosed()) {
            try {
                Socket s = server.accept();
                pool.execute(() -> serve(s));
            } catch (IOException e) {
                return;
            }
        }
    }

    private void serve(Socket s) {
        try (s) {
            s.setSoTimeout(30_000);
            InputStream in = s.getInputStream();
            OutputStream out = s.getOutputStream();
            while (true) {
                String head = readHead(in);
                if (head == null) {
                    return;
                }
                byte[] body = readBody(in, head);
                received.add(new Request(head, body));
                out.write(RESPONSE);
                out.flush();
            }
        } catch (IOException e) {
            // the proxy closed or reset the connection: nothing more to record
        }
    }

    private static String readHead(InputStream in) throws IOException {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        int state = 0;
        while (state < 4) {
            int c = in.read();
            if (c < 0) {
                return null;
            }
            b.write(c);
            state = (c == '\r' && (state == 0 || state == 2)) || (c == '\n' && (state == 1 || state == 3))
                    ? state + 1 : 0;
        }
        return b.toString(StandardCharsets.ISO_8859_1);
    }

    private static byte[] readBody(InputStream in, String head) throws IOException {
        Request r = new Request(head, null);
        List<String> te = r.field("Transfer-Encoding");
        if (!te.isEmpty() && te.get(0).toLowerCase(Locale.ROOT).contains("chunked")) {
            ByteArrayOutputStream b = new ByteArrayOutputStream();
            while (true) {
                String size = line(in);
                int n = Integer.parseInt(size.split(";")[0].trim(), 16);
                if (n == 0) {
                    while (!line(in).isEmpty()) {
                        // trailer fields
                    }
                    return b.toByteArray();
                }
                b.write(in.readNBytes(n));
                line(in);
            }
        }
        List<String> cl = r.field("Content-Length");
        return cl.isEmpty() ? new byte[0] : in.readNBytes(Integer.parseInt(cl.get(0)));
    }

    private static String line(InputStream in) throws IOException {
        StringBuilder b = new StringBuilder();
        for (int c; (c = in.read()) >= 0 && c != '\n'; ) {
            if (c != '\r') {
                b.append((char) c);
            }
        }
        return b.toString();
    }

    @Override
    public void close() throws IOException {
        server.close();
        pool.shutdownNow();
    }
}
