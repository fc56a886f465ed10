package io.tiergate.proxy.forward;

import io.grpc.CallOptions;
import io.grpc.ManagedChannel;
import io.grpc.MethodDescriptor;
import io.grpc.Server;
import io.grpc.ServerServiceDefinition;
import io.grpc.ServerTransportFilter;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.stub.ClientCalls;
import io.grpc.stub.ServerCalls;
import io.tiergate.proxy.ProxyNode;
import io.tiergate.proxy.support.Origin;
import io.tiergate.proxy.support.Proxies;
import io.vertx.core.Vertx;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executors;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

/**
 * gRPC through the proxy to a real grpc-java server over HTTP/2 cleartext (protocol: h2c): unary and server-streaming
 * calls with their trailers, an error the server answers trailers-only, an error the proxy itself answers (no server
 * up: UNAVAILABLE), and many concurrent calls multiplexed over one upstream connection.
 */
@Timeout(60)
class GrpcProxyTest {
    static final MethodDescriptor.Marshaller<String> TEXT = new MethodDescriptor.Marshaller<>() {
        @Override
        public InputStream stream(String value) {
            return new ByteArrayInputStream(value.getBytes(StandardCharsets.UTF_8));
        }

        @Override
        public String parse(InputStream stream) {
            try {
                return new String(stream.readAllBytes(), StandardCharsets.UTF_8);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
    };
    static final MethodDescriptor<String, String> SAY = method("Say", MethodDescriptor.MethodType.UNARY);
    static final MethodDescriptor<String, String> COUNT = method("Count", MethodDescriptor.MethodType.SERVER_STREAMING);
    static final MethodDescriptor<String, String> FAIL = method("Fail", MethodDescriptor.MethodType.UNARY);
    static final MethodDescriptor<String, String> SLOW = method("Slow", MethodDescriptor.MethodType.UNARY);
    static final MethodDescriptor<String, String> HANG = method("Hang", MethodDescriptor.MethodType.UNARY);
    static final MethodDescriptor<String, String> JOIN = method("Join", MethodDescriptor.MethodType.CLIENT_STREAMING);

    static Vertx vertx;
    static Server server;
    static ProxyNode proxy;
    static ManagedChannel channel;
    static ManagedChannel deadChannel;
    static final AtomicInteger connections = new AtomicInteger();
    static final AtomicInteger slowInFlight = new AtomicInteger();
    static final AtomicInteger slowPeak = new AtomicInteger();
    static ExecutorService pool = Executors.newFixedThreadPool(24);

    private static MethodDescriptor<String, String> method(String name, MethodDescriptor.MethodType type) {
        return MethodDescriptor.<String, String>newBuilder().setType(type)
                .setFullMethodName(MethodDescriptor.generateFullMethodName("test.Echo", name))
                .setRequestMarshaller(TEXT).setResponseMarshaller(TEXT).build();
    }

    @BeforeAll
    static void start() throws Exception {
        vertx = io.tiergate.shared.runtime.Runtimes.vertx();
        ScheduledHolder timer = new ScheduledHolder();
        ServerServiceDefinition echo = ServerServiceDefinition.builder("test.Echo")
                .addMethod(SAY, ServerCalls.asyncUnaryCall((req, out) -> {
                    out.onNext("hello " + req);
                    out.onCompleted();
                }))
                .addMethod(COUNT, ServerCalls.asyncServerStreamingCall((req, out) -> {
                    for (int i = 1; i <= Integer.parseInt(req); i++) {
                        out.onNext("item " + i);
                    }
                    out.onCompleted();
                }))
                .addMethod(FAIL, ServerCalls.asyncUnaryCall((req, out) ->
                        out.onError(Status.NOT_FOUND.withDescription("no such thing: " + req).asRuntimeException())))
                .addMethod(HANG, ServerCalls.asyncUnaryCall((req, out) -> { }))
                .addMethod(JOIN, ServerCalls.asyncClientStreamingCall(out -> new io.grpc.stub.StreamObserver<String>() {
                    final StringBuilder all = new StringBuilder();

                    @Override
                    public void onNext(String v) {
                        all.append(v).append(',');
                    }

                    @Override
                    public void onError(Throwable t) {
                    }

                    @Override
                    public void onCompleted() {
                        out.onNext(all.toString());
                        out.onCompleted();
                    }
                }))
                .addMethod(SLOW, ServerCalls.asyncUnaryCall((req, out) -> {
                    int now = slowInFlight.incrementAndGet();
                    slowPeak.accumulateAndGet(now, Math::max);
                    timer.exec.schedule(() -> {
                        slowInFlight.decrementAndGet();
                        out.onNext("slow " + req);
                        out.onCompleted();
                    }, 1, TimeUnit.SECONDS);
                }))
                .build();
        server = NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0)).addService(echo)
                .addTransportFilter(new ServerTransportFilter() {
                    @Override
                    public io.grpc.Attributes transportReady(io.grpc.Attributes attrs) {
                        connections.incrementAndGet();
                        return attrs;
                    }
                }).build().start();
        proxy = Proxies.start(vertx, """
                access_log: {format: off}
                listeners: [{address: 127.0.0.1:0}]
                timeouts: {upstream_read: 3s}
                upstreams:
                  grpc: {servers: ["127.0.0.1:%d"], protocol: h2c}
                  gone: {servers: ["127.0.0.1:%d"], protocol: h2c}
                servers:
                  - default: true
                    locations:
                      - {prefix: /test.Echo/, upstream: grpc}
                      - {prefix: /, upstream: gone}
                """.formatted(server.getPort(), Proxies.deadPort()));
        int port = proxy.listenPorts().get(0);
        channel = NettyChannelBuilder.forAddress("127.0.0.1", port).usePlaintext().build();
        deadChannel = channel;
    }

    /** The server's timer for the slow method (one thread; no thread per call). */
    static final class ScheduledHolder {
        final java.util.concurrent.ScheduledExecutorService exec = Executors.newSingleThreadScheduledExecutor();
    }

    @AfterAll
    static void stop() throws Exception {
        channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        Origin.await(proxy.shutdown(Duration.ZERO));
        server.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        pool.shutdownNow();
        Origin.await(vertx.close());
    }

    private static CallOptions deadline() {
        return CallOptions.DEFAULT.withDeadlineAfter(20, TimeUnit.SECONDS);
    }

    @Test
    void aUnaryCallGoesThroughWithItsTrailers() {
        assertThat(ClientCalls.blockingUnaryCall(channel, SAY, deadline(), "proxy")).isEqualTo("hello proxy");
    }

    @Test
    void aServerStreamingCallDeliversEveryMessage() {
        Iterator<String> it = ClientCalls.blockingServerStreamingCall(channel, COUNT, deadline(), "50");
        List<String> got = new ArrayList<>();
        it.forEachRemaining(got::add);
        assertThat(got).hasSize(50).startsWith("item 1").endsWith("item 50");
    }

    @Test
    void theServersTrailersOnlyErrorReachesTheClient() {
        StatusRuntimeException e = catchThrowableOfType(StatusRuntimeException.class,
                () -> ClientCalls.blockingUnaryCall(channel, FAIL, deadline(), "x"));
        assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.NOT_FOUND);
        assertThat(e.getStatus().getDescription()).isEqualTo("no such thing: x");
    }

    @Test
    void noServerUpIsUnavailableInGrpcTerms() {
        MethodDescriptor<String, String> elsewhere = SAY.toBuilder()
                .setFullMethodName(MethodDescriptor.generateFullMethodName("other.Svc", "Say")).build();
        StatusRuntimeException e = catchThrowableOfType(StatusRuntimeException.class,
                () -> ClientCalls.blockingUnaryCall(deadChannel, elsewhere, deadline(), "x"));
        assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.UNAVAILABLE);
        assertThat(e.getStatus().getDescription()).contains("502").contains("upstream 'gone'");
    }

    @Test
    void aClientStreamingCallDeliversEveryMessage() throws Exception {
        CompletableFuture<String> result = new CompletableFuture<>();
        io.grpc.stub.StreamObserver<String> in = io.grpc.stub.ClientCalls.asyncClientStreamingCall(
                channel.newCall(JOIN, deadline()), new io.grpc.stub.StreamObserver<String>() {
                    @Override
                    public void onNext(String v) {
                        result.complete(v);
                    }

                    @Override
                    public void onError(Throwable t) {
                        result.completeExceptionally(t);
                    }

                    @Override
                    public void onCompleted() {
                    }
                });
        for (int i = 0; i < 30; i++) {
            in.onNext("m" + i);
        }
        in.onCompleted();
        assertThat(result.get(20, TimeUnit.SECONDS)).startsWith("m0,m1,").endsWith("m29,");
    }

    @Test
    void aSilentServerIsDeadlineExceededInGrpcTerms() {
        StatusRuntimeException e = catchThrowableOfType(StatusRuntimeException.class,
                () -> ClientCalls.blockingUnaryCall(channel, HANG, deadline(), "x"));
        assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.DEADLINE_EXCEEDED);
        assertThat(e.getStatus().getDescription()).contains("504").contains("timed out");
    }

    @Test
    void concurrentCallsShareOneUpstreamConnection() throws Exception {
        ClientCalls.blockingUnaryCall(channel, SAY, deadline(), "warm-up"); // the pool's connection exists
        int before = connections.get();
        int n = 20;
        List<CompletableFuture<String>> calls = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            String id = Integer.toString(i);
            calls.add(CompletableFuture.supplyAsync(() -> ClientCalls.blockingUnaryCall(channel, SLOW, deadline(), id),
                    pool));
        }
        for (int i = 0; i < n; i++) {
            assertThat(calls.get(i).get(30, TimeUnit.SECONDS)).isEqualTo("slow " + i);
        }
        assertThat(slowPeak.get()).as("calls in progress at the server at once").isEqualTo(n);
        assertThat(connections.get()).as("upstream connections opened by the proxy").isEqualTo(before).isEqualTo(1);
    }
}
