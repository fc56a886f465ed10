package io.tiergate.cli;

import io.tiergate.director.Director;
import io.tiergate.director.config.DirectorConfig;
import io.tiergate.director.config.DirectorConfigDiff;
import io.tiergate.director.engine.StepReport;
import io.tiergate.shared.config.ConfigException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.file.Path;

/**
 * What a director reload does (SIGHUP, {@code tiergate reload}): validate the file (an invalid one changes nothing),
 * apply services and real servers in one engine step (established flows stay), VRRP, {@code logging} and the admin
 * address; then one line saying what changed and which changed keys need a restart, and the reload counters.
 */
final class DirectorReloader {
    private static final Logger log = LoggerFactory.getLogger(DirectorReloader.class);

    private final Path file;
    private final Director director;
    private TiergateConfig running; // guarded by this

    DirectorReloader(Path file, TiergateConfig first, Director director) {
        this.file = file;
        this.running = first;
        this.director = director;
    }

    synchronized void reload() {
        TiergateConfig cfg;
        try {
            cfg = TiergateConfig.load(file);
            if (cfg.director().isEmpty()) {
                throw new UserException(file + " has no 'director:' section", ExitCodes.CONFIG);
            }
        } catch (ConfigException | UserException e) {
            director.reloads().failed();
            director.events().error("reload", "reload rejected: " + io.tiergate.shared.admin.EventLog.summary(e.getMessage()));
            log.warn("reload rejected, still running the previous config:\n{}", e.getMessage());
            return;
        }
        DirectorConfig was = running.director().orElseThrow();
        DirectorConfig next = cfg.director().orElseThrow();
        DirectorConfigDiff diff = DirectorConfigDiff.of(was, next);
        ReloadReport out = new ReloadReport(diff.applied(), diff.needsRestart());
        out.sharedKeys(running, cfg);
        StepReport report;
        try {
            report = director.reload(next);
        } catch (RuntimeException e) {
            director.reloads().failed();
            log.error("reload failed, still running the previous config: {}", e.toString());
            return;
        }
        running = cfg;
        if (was.admin().isPresent() && next.admin().isPresent() && !was.admin().equals(next.admin())) {
            try {
                director.moveAdmin(next.admin().get());
                out.applied.add("admin " + was.admin().get() + " -> " + next.admin().get());
            } catch (Exception e) {
                out.failed.add("admin stays on " + was.admin().get() + " (cannot listen on " + next.admin().get()
                        + ": " + ReloadReport.cause(e) + ")");
            }
        }
        if (report.error() != null) {
            out.failed.add("the dataplane change failed (retried every repair_interval): " + report.error());
        }
        out.log(log, director.reloads(), file);
    }
}
