package io.tiergate.cli;

import io.tiergate.cli.demo.DemoOrigin;
import io.tiergate.shared.config.HostPort;
import io.vertx.core.Vertx;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;

@Command(name = "origin", mixinStandardHelpOptions = true,
        description = {"Run a small demo app server: it answers with its name, the request and who forwarded it.",
            "Used by the demo, the lab and the docker-compose stack; handy as a stand-in origin."},
        footer = {"", "Example:", "  tiergate origin --name app-1 --listen 0.0.0.0:8080"})
final class OriginCommand implements Callable<Integer> {
    @Option(names = "--name", defaultValue = "origin", description = "Name shown in replies and in the X-Tiergate-Origin header.")
    String name;

    @Option(names = "--listen", defaultValue = "127.0.0.1:8081", paramLabel = "HOST:PORT", description = "Address to listen on (default ${DEFAULT-VALUE}).")
    String listen;

    @Override
    public Integer call() throws Exception {
        HostPort hp;
        try {
            hp = HostPort.parse(listen, -1);
        } catch (IllegalArgumentException e) {
            throw new UserException("--listen: " + e.getMessage() + " (expected: " + HostPort.EXPECTED + ")", ExitCodes.USAGE);
        }
        Vertx vertx = io.tiergate.shared.runtime.Runtimes.vertx();
        DemoOrigin origin;
        try {
            origin = DemoOrigin.start(vertx, name, hp.host(), hp.port()).await();
        } catch (Exception e) {
            vertx.close();
            throw new UserException("cannot listen on " + hp + ": " + e.getMessage(), ExitCodes.FAILURE);
        }
        System.out.println(name + " listening on " + hp.host() + ":" + origin.port());
        CountDownLatch done = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            origin.close().await();
            vertx.close().await();
            done.countDown();
        }));
        done.await();
        return ExitCodes.OK;
    }
}
