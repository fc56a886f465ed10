package io.tiergate.proxy.support;

import io.tiergate.proxy.ProxyNode;
import io.tiergate.proxy.config.ProxyConfig;
import io.tiergate.shared.Contexts;
import io.tiergate.shared.config.ConfigMap;
import io.tiergate.shared.config.Problems;
import io.tiergate.shared.config.YamlLoader;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClientAgent;
import io.vertx.core.http.HttpClientResponse;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.RequestOptions;
import io.vertx.core.internal.http.HttpClientInternal;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;

import static org.assertj.core.api.Assertions.assertThat;

/** Starting proxies from YAML in tests, and talking to them with a real client or a raw socket. */
public final class Proxies {
    private Proxies() {
    }

    /** Parses the body of a {@code proxy:} section; fails the test with every problem when invalid. */
    public static ProxyConfig config(String yaml) {
        Problems problems = new Problems();
        ProxyConfig c = ProxyConfig.parse(ConfigMap.of(YamlLoader.parse("test.yaml", yaml), problems));
        assertThat(problems.format()).as("the test's proxy config should be valid").isEmpty();
        return c;
    }

    public static ProxyNode start(Vertx vertx, String yaml) {
        return Origin.await(ProxyNode.start(vertx, config(yaml)));
    }

    /** A port nothing listens on (bound then released), for "connection refused". */
    public static int deadPort() {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        } catch (IOException e) {
            throw new RuntimeException(e);
        }
    }

    public record Reply(int status, io.vertx.core.MultiMap headers, String body) {
    }

    public static Reply send(HttpClientAgent client, int port, HttpMethod method, String uri, Buffer body,
                             String... headers) {
        RequestOptions o = new RequestOptions().setMethod(method).setHost("127.0.0.1").setPort(port).setURI(uri)
                .setIdleTimeout(10_000);
        for (int i = 0; i + 1 < headers.length; i += 2) {
            o.addHeader(headers[i], headers[i + 1]);
        }
        // on a context of the client's own Vert.x (an HttpClientAgent does not name it otherwise)
        return Origin.await(Contexts.onContext(((HttpClientInternal) client).vertx(), () -> client.request(o)
                .compose(req -> (body == null ? req.send() : req.send(body)).compose(resp -> resp.body()
                        .map(b -> new Reply(resp.statusCode(), resp.headers(), b.toString()))))));
    }

    public static Reply get(HttpClientAgent client, int port, String uri, String... headers) {
        return send(client, port, HttpMethod.GET, uri, null, headers);
    }

    /** Writes raw bytes and returns everything the server sends until it closes (or 5 s pass). */
    public static String raw(int port, String request) {
        try (Socket s = new Socket("127.0.0.1", port)) {
            s.setSoTimeout(5000);
            OutputStream out = s.getOutputStream();
            out.write(request.getBytes(StandardCharsets.ISO_8859_1));
            out.flush();
            InputStream in = s.getInputStream();
            StringBuilder sb = new StringBuilder();
            byte[] buf = new byte[8192];
            long end = System.nanoTime() + Duration.ofSeconds(5).toNanos();
            try {
                int n;
                while (System.nanoTime() < end && (n = in.read(buf)) > 0) {
                    sb.append(new String(buf, 0, n, StandardCharsets.ISO_8859_1));
                }
            } catch (java.net.SocketTimeoutException | java.net.SocketException e) {
                // a reset or a silent server: return what came
            }
            return sb.toString();
        } catch (IOException e) {
            throw new RuntimeException(e);
        }
    }

    /** Reads until the server closes (a reset counts as a close) and returns what came. */
    public static String readAll(InputStream in) throws IOException {
        java.io.ByteArrayOutputStream b = new java.io.ByteArrayOutputStream();
        byte[] buf = new byte[4096];
        try {
            for (int n; (n = in.read(buf)) >= 0; ) {
                b.write(buf, 0, n);
            }
        } catch (java.net.SocketException e) {
            // reset: what was read so far is the answer
        }
        return b.toString(StandardCharsets.ISO_8859_1);
    }

    /**
     * A slowloris client: sends a request head one header line every 100 ms (for 3 s at most, never finishing it) and
     * returns how long the proxy took to close the connection. Fails the test if the proxy answered anything.
     */
    public static Duration trickleHead(int port) {
        try (Socket s = new Socket("127.0.0.1", port)) {
            s.setSoTimeout(5000);
            OutputStream out = s.getOutputStream();
            long t0 = System.nanoTime();
            out.write("GET / HTTP/1.1\r\nHost: a\r\n".getBytes(StandardCharsets.ISO_8859_1));
            for (int i = 0; i < 30; i++) { // Vert.x's idle timeout alone would never fire: every line resets it
                Thread.sleep(100);
                try {
                    out.write(("X-" + i + ": y\r\n").getBytes(StandardCharsets.ISO_8859_1));
                    out.flush();
                } catch (IOException e) {
                    break; // closed by the proxy
                }
            }
            assertThat(readAll(s.getInputStream())).as("a half-sent head gets no answer, the connection is closed")
                    .isEmpty();
            return Duration.ofNanos(System.nanoTime() - t0);
        } catch (IOException e) {
            throw new RuntimeException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new RuntimeException(e);
        }
    }
}
