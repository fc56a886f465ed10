package io.tiergate.director.dataplane.ipvs;

import static io.tiergate.director.dataplane.ipvs.IpvsCodecGoldenTest.addr;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Programs N services x M destinations from an empty table, then one change, three ways:
 * IpvsClient pipelined ({@link IpvsClient#apply}), IpvsClient one call at a time, and ipvsadm
 * (one `ipvsadm -R` restore for the table, one `ipvsadm -e` for the change). Run inside the VM by
 * bench/director-ipvs.sh; not a test. Prints a markdown table.
 */
public final class IpvsBench {
    public static void main(String[] args) throws Exception {
        int services = args.length > 0 ? Integer.parseInt(args[0]) : 1000;
        int dests = args.length > 1 ? Integer.parseInt(args[1]) : 10;
        List<IpvsService> svcs = new ArrayList<>();
        List<IpvsClient.Change> all = new ArrayList<>();
        StringBuilder restore = new StringBuilder();
        for (int i = 0; i < services; i++) {
            IpvsService s = IpvsService.tcp(addr("10." + (1 + i / 250) + "." + (i % 250) + ".1"), 80).scheduler("wrr").build();
            svcs.add(s);
            all.add(IpvsClient.Change.newService(s));
            restore.append("-A -t ").append(s.address().getHostAddress()).append(":80 -s wrr\n");
            for (int d = 0; d < dests; d++) {
                IpvsDestination dst = IpvsDestination.builder(addr("172.16." + (i % 250) + "." + (d + 1 + 10 * (i / 250))), 8080).weight(1).build();
                all.add(IpvsClient.Change.newDest(s, dst));
                restore.append("-a -t ").append(s.address().getHostAddress()).append(":80 -r ")
                        .append(dst.address().getHostAddress()).append(":8080 -g -w 1\n");
            }
        }
        IpvsService changedSvc = svcs.get(services / 2);
        IpvsDestination changed = IpvsDestination.builder(addr("172.16." + ((services / 2) % 250) + "." + (1 + 10 * ((services / 2) / 250))), 8080).weight(5).build();
        Path restoreFile = Files.createTempFile("ipvs-restore", ".txt");
        Files.writeString(restoreFile, restore);

        System.out.printf("| %d services x %d destinations, from empty | full table (ms) | one weight change (ms) |%n", services, dests);
        System.out.println("|---|---:|---:|");
        try (IpvsClient ipvs = IpvsClient.open()) {
            for (int round = 0; round < 2; round++) { // round 0 warms the JIT; report round 1
                ipvs.flush();
                long t0 = System.nanoTime();
                List<IpvsException> failures = ipvs.apply(all);
                long full = System.nanoTime() - t0;
                check(failures.isEmpty(), "pipelined apply failed: " + failures.stream().limit(3).toList());
                t0 = System.nanoTime();
                ipvs.setDestination(changedSvc, changed);
                long one = System.nanoTime() - t0;
                if (round == 1) {
                    row("IpvsClient, pipelined (apply)", full, one);
                }

                ipvs.flush();
                t0 = System.nanoTime();
                for (IpvsClient.Change c : all) {
                    if (c.kind() == IpvsClient.Change.Kind.NEW_SERVICE) {
                        ipvs.newService(c.service());
                    } else {
                        ipvs.newDestination(c.service(), c.destination());
                    }
                }
                full = System.nanoTime() - t0;
                if (round == 1) {
                    row("IpvsClient, one call at a time", full, -1);
                }
            }
            check(ipvs.services().size() == services, "services read back");

            ipvs.flush();
            long t0 = System.nanoTime();
            exec("sh", "-c", "ipvsadm -R < " + restoreFile);
            long full = System.nanoTime() - t0;
            t0 = System.nanoTime();
            exec("ipvsadm", "-e", "-t", changedSvc.address().getHostAddress() + ":80", "-r",
                    changed.address().getHostAddress() + ":8080", "-g", "-w", "5");
            long one = System.nanoTime() - t0;
            row("ipvsadm -R (one process) / ipvsadm -e", full, one);
            check(ipvs.services().size() == services, "ipvsadm restored everything");
            ipvs.flush();
        }
    }

    private static void row(String what, long fullNanos, long oneNanos) {
        System.out.printf("| %s | %.0f | %s |%n", what, fullNanos / 1e6,
                oneNanos < 0 ? "(same single call as above)" : String.format("%.2f", oneNanos / 1e6));
    }

    private static void check(boolean ok, String what) {
        if (!ok) {
            throw new IllegalStateException(what);
        }
    }

    private static void exec(String... cmd) throws Exception {
        Process p = new ProcessBuilder(cmd).inheritIO().start();
        if (!p.waitFor(300, TimeUnit.SECONDS) || p.exitValue() != 0) {
            throw new IllegalStateException(String.join(" ", cmd) + " failed");
        }
    }
}
