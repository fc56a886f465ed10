package io.tiergate.director.dataplane.nft;

import io.tiergate.director.config.DirectorConfig;
import io.tiergate.director.dataplane.Changeset;
import io.tiergate.director.dataplane.DataplaneKind;
import io.tiergate.director.dataplane.DataplaneService;
import io.tiergate.director.dataplane.Destination;
import io.tiergate.director.model.ForwardingMethod;
import io.tiergate.director.model.Persistence;
import io.tiergate.director.model.Protocol;
import io.tiergate.director.model.Scheduler;
import io.tiergate.director.model.ServiceKey;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.ExecutorService;

/**
 * Benchmark, not a CI gate (runs only with -Dtiergate.bench=true, see bench/director-apply.sh): time to apply
 * 1,000 services × 10 real servers into an empty nft table, one change into that state, and a no-op re-read.
 */
class NftApplyBench {
    @Test
    void applyThousandServices() throws Exception {
        Assumptions.assumeTrue(Boolean.getBoolean("tiergate.bench"), "skipped: benchmark (run bench/director-apply.sh)");
        String ns = "tgbench" + Long.toHexString(System.nanoTime() & 0xffff);
        int services = Integer.getInteger("tiergate.bench.services", 1000);
        String scheduler = System.getProperty("tiergate.bench.scheduler", "mh");
        Process p = new ProcessBuilder("bash", "-c", "set -e; ip netns add " + ns + "; ip -n " + ns
                + " link add eth0 type veth peer name eth1; ip -n " + ns + " link set eth0 up").inheritIO().start();
        p.waitFor();
        ExecutorService thread = Executors.newSingleThreadExecutor();
        try {
            thread.submit(() -> {
                Netns.enter(ns);
                DirectorConfig cfg = new DirectorConfig(DataplaneKind.NFT, java.util.Optional.of("eth0"),
                        DirectorConfig.DEFAULT_HASH_SEED, DirectorConfig.DEFAULT_MAGLEV_SIZE, java.time.Duration.ofSeconds(10),
                        java.time.Duration.ofSeconds(30), java.time.Duration.ofSeconds(3), java.time.Duration.ofSeconds(60),
                        java.util.Optional.empty(), List.of(), io.tiergate.director.model.FlowTable.DEFAULT,
                        java.util.Optional.empty());
                NftDataplane dp = NftDataplane.open(cfg);
                List<DataplaneService> all = new ArrayList<>();
                for (int i = 0; i < services; i++) {
                    String vip = "10." + (100 + i / 250) + "." + (i % 250) + ".1";
                    List<Destination> d = new ArrayList<>();
                    for (int r = 0; r < 10; r++) {
                        d.add(new Destination("10.200." + (i % 250) + "." + (r + 1), 80, 1 + r % 3));
                    }
                    all.add(new DataplaneService(ServiceKey.of(Protocol.TCP, vip, 80),
                            scheduler.equals("wrr") ? Scheduler.WEIGHTED_ROUND_ROBIN : Scheduler.MAGLEV,
                            ForwardingMethod.DIRECT_ROUTE, Persistence.NONE, false, d));
                }
                long t0 = System.nanoTime();
                dp.apply(new Changeset(all, List.of()));
                long full = System.nanoTime() - t0;
                t0 = System.nanoTime();
                var actual = dp.read();
                long read = System.nanoTime() - t0;
                DataplaneService first = all.get(0);
                List<Destination> changed = new ArrayList<>(first.destinations());
                changed.set(0, new Destination(changed.get(0).address(), 80, 0));
                DataplaneService one = new DataplaneService(first.key(), first.scheduler(), first.method(),
                        first.persistence(), false, changed);
                t0 = System.nanoTime();
                dp.apply(new Changeset(List.of(one), List.of()));
                long single = System.nanoTime() - t0;
                System.out.printf("[bench] nft %s: %d services x 10 real servers from empty: %.0f ms; read back (%d services): %.0f ms;"
                                + " one real server to weight 0: %.1f ms%n", scheduler, services, full / 1e6, actual.size(),
                        read / 1e6, single / 1e6);
                dp.close();
                return null;
            }).get();
        } finally {
            thread.shutdownNow();
            new ProcessBuilder("ip", "netns", "del", ns).inheritIO().start().waitFor();
        }
    }
}
