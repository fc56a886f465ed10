package io.tiergate.shared.runtime;

import io.vertx.core.Vertx;
import io.vertx.core.net.NetClient;
import io.vertx.core.net.NetServer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class RuntimesTest {
    @AfterEach
    void clear() {
        System.clearProperty(Runtimes.TRANSPORT_PROPERTY);
    }

    @Test
    void linuxX86GetsEpollAndItCarriesBytes() throws Exception {
        Vertx v = Runtimes.vertx();
        try {
            if (System.getProperty("os.name").equals("Linux") && System.getProperty("os.arch").equals("amd64")) {
                assertThat(Runtimes.transport(v)).as("the shipped native epoll jar loads on Linux x86_64: "
                        + v.unavailableNativeTransportCause()).isEqualTo("epoll");
            }
            NetServer server = v.createNetServer().connectHandler(s -> s.handler(s::write));
            int port = server.listen(0, "127.0.0.1").toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS)
                    .actualPort();
            NetClient client = v.createNetClient();
            var echoed = new java.util.concurrent.CompletableFuture<String>();
            client.connect(port, "127.0.0.1").onSuccess(s -> {
                s.handler(b -> echoed.complete(b.toString()));
                s.write("ping");
            }).onFailure(echoed::completeExceptionally);
            assertThat(echoed.get(10, TimeUnit.SECONDS)).isEqualTo("ping");
        } finally {
            v.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
        }
    }

    @Test
    void nioOnRequest() throws Exception {
        System.setProperty(Runtimes.TRANSPORT_PROPERTY, "nio");
        Vertx v = Runtimes.vertx();
        try {
            assertThat(Runtimes.transport(v)).isEqualTo("nio");
        } finally {
            v.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
        }
    }

    @Test
    void unknownTransportNamesTheFix() {
        System.setProperty(Runtimes.TRANSPORT_PROPERTY, "iouring");
        assertThatThrownBy(Runtimes::vertx).hasMessageContaining("-Dtiergate.transport=iouring")
                .hasMessageContaining("use epoll or nio");
    }
}
