package io.tiergate.director.bgp;

import io.tiergate.director.config.DirectorConfig;
import io.tiergate.director.dataplane.DataplaneKind;
import io.tiergate.director.model.Scheduler;
import io.tiergate.director.model.VirtualService;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Behind ECMP a flow can arrive at a director that never saw its SYN (a director died, joined or drained, and the
 * router rehashed). It then survives only if that director sends it to the same real server as the first one did:
 * a consistent-hash scheduler (mh, sh) on identical membership, and a dataplane that forwards a non-SYN packet it
 * has no state for. What each dataplane needs is set up or warned about here, once, at start. See
 * docs/scale-out.md ("Flow continuity").
 */
public final class FlowContinuity {
    private static final Logger log = LoggerFactory.getLogger(FlowContinuity.class);
    static final Path SLOPPY_TCP = Path.of("/proc/sys/net/ipv4/vs/sloppy_tcp");

    private FlowContinuity() {
    }

    public static void prepare(DirectorConfig config, DataplaneKind kind) {
        for (VirtualService s : config.services()) {
            if (s.scheduler() != Scheduler.MAGLEV && s.scheduler() != Scheduler.SOURCE_HASH) {
                log.warn("bgp: service '{}' uses scheduler {}: a flow that moves to another director may reach another "
                        + "real server and break; use scheduler mh", s.name(), s.scheduler().configName());
            }
        }
        if (kind == DataplaneKind.USERSPACE) {
            log.warn("bgp: the userspace dataplane terminates TCP, so a connection that the routers move to another "
                    + "director is reset (new connections are fine); use nft or ipvs for seamless scale-out");
        }
        if (kind == DataplaneKind.IPVS) {
            // Without sloppy_tcp IPVS schedules only on SYN: a moved flow's next segment would reach the local stack
            // and be answered with RST.
            try {
                Files.writeString(SLOPPY_TCP, "1");
                log.info("bgp: net.ipv4.vs.sloppy_tcp=1, so IPVS schedules a moved flow's first packet with mh");
            } catch (IOException | RuntimeException e) {
                log.warn("bgp: could not set net.ipv4.vs.sloppy_tcp=1 ({}): flows moved to this director will be reset",
                        e.toString());
            }
        }
    }
}
