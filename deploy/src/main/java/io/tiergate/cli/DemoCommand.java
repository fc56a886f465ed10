package io.tiergate.cli;

import io.tiergate.cli.demo.Demo;
import io.tiergate.shared.logging.Logging;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.io.PrintWriter;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;

@Command(name = "demo", mixinStandardHelpOptions = true,
        description = {"Run both tiers on loopback, no root: director → two proxy nodes → two origin apps.",
            "Prints the URL to try; Ctrl-C stops everything."},
        footer = {"", "Examples:", "  ./tiergate demo", "  ./tiergate demo --port 9000"})
final class DemoCommand implements Callable<Integer> {
    @Option(names = "--port", defaultValue = "8080", description = "Port of the director's VIP on 127.0.0.1 (default ${DEFAULT-VALUE}).")
    int port;

    @Option(names = "--admin-port", defaultValue = "9180", description = "Port of the director's admin API (default ${DEFAULT-VALUE}).")
    int adminPort;

    @picocli.CommandLine.Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        Logging.configure("text", "warn");
        for (int[] p : new int[][] {{port, 0}, {adminPort, 1}}) {
            if (!free(p[0])) {
                throw new UserException("port " + p[0] + " on 127.0.0.1 is in use; pick another with "
                        + (p[1] == 0 ? "--port" : "--admin-port") + " N", ExitCodes.FAILURE);
            }
        }
        PrintWriter out = spec.commandLine().getOut();
        Demo demo = new Demo();
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            out.println();
            out.println("stopping the demo...");
            out.flush();
            demo.close();
            stopped.countDown();
        }, "demo-stop"));
        try {
            demo.start("127.0.0.1", port, adminPort);
        } catch (Exception e) {
            throw new UserException("the demo could not start: " + e.getMessage(), ExitCodes.FAILURE);
        }
        demo.printBanner(out, "127.0.0.1", adminPort);
        stopped.await();
        return ExitCodes.OK;
    }

    private static boolean free(int port) {
        try (ServerSocket s = new ServerSocket()) {
            s.setReuseAddress(true);
            s.bind(new InetSocketAddress("127.0.0.1", port));
            return true;
        } catch (IOException e) {
            return false;
        }
    }
}
