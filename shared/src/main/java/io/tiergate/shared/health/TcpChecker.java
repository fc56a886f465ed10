package io.tiergate.shared.health;

import io.vertx.core.Vertx;
import io.vertx.core.net.ConnectOptions;
import io.vertx.core.net.NetClient;
import io.vertx.core.net.NetClientOptions;

/** Healthy when a TCP connection opens; the connection is closed at once without sending anything. */
final class TcpChecker implements Checker {

    private final NetClient client;

    TcpChecker(Vertx vertx) {
        // Linger 0 closes with RST: thousands of probes a second would otherwise leave as many
        // TIME_WAIT sockets on the checking host (HAProxy closes its checks the same way).
        this.client = vertx.createNetClient(new NetClientOptions().setReconnectAttempts(0).setSoLinger(0));
    }

    @Override
    public void probe(ProbeAttempt attempt) {
        HealthTarget t = attempt.target;
        long timeoutMs = attempt.timeoutMs;
        ConnectOptions options = new ConnectOptions().setHost(t.host()).setPort(t.port())
                .setTimeout((int) Math.min(Integer.MAX_VALUE, timeoutMs));
        client.connect(options).onComplete(ar -> {
            if (ar.succeeded()) {
                ar.result().close();
                attempt.succeed("connect ok");
            } else {
                attempt.fail(Checker.describe(ar.cause(), timeoutMs));
            }
        });
    }

    @Override
    public void close() {
        client.close();
    }
}
