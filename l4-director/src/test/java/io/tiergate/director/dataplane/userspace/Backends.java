package io.tiergate.director.dataplane.userspace;

import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.net.NetServer;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

/** Real TCP servers on 127.0.0.1 for tests: each greets with its name and then echoes. */
public final class Backends {
    private Backends() {
    }

    public static final class Named {
        public final String name;
        public final NetServer server;
        public final int port;
        /** The first bytes each connection sent (to check a PROXY header). */
        public final List<Buffer> firstBytes = new CopyOnWriteArrayList<>();

        Named(String name, NetServer server, int port) {
            this.name = name;
            this.server = server;
            this.port = port;
        }

        public void kill() throws Exception {
            server.close().toCompletionStage().toCompletableFuture().get(5, TimeUnit.SECONDS);
        }
    }

    public static Named start(Vertx vertx, String name) throws Exception {
        Named[] holder = new Named[1];
        NetServer s = vertx.createNetServer().connectHandler(so -> {
            so.write(name + "\n");
            boolean[] first = {true};
            so.handler(buf -> {
                if (first[0]) {
                    first[0] = false;
                    holder[0].firstBytes.add(buf.copy());
                }
                so.write(buf);
            });
        });
        s = s.listen(0, "127.0.0.1").toCompletionStage().toCompletableFuture().get(5, TimeUnit.SECONDS);
        holder[0] = new Named(name, s, s.actualPort());
        return holder[0];
    }

    /** Connects, reads the greeting line (the backend's name), closes. */
    public static String ask(int port) throws Exception {
        try (Socket so = open(port)) {
            return greeting(so);
        }
    }

    public static Socket open(int port) throws Exception {
        Socket so = new Socket("127.0.0.1", port);
        so.setSoTimeout(5000);
        return so;
    }

    public static String greeting(Socket so) throws Exception {
        BufferedReader r = new BufferedReader(new InputStreamReader(so.getInputStream(), StandardCharsets.UTF_8));
        return r.readLine();
    }
}
