package io.tiergate.director.ha;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Keeps one {@code ip -force -batch -} process alive and writes address commands to its stdin. Starting {@code ip}
 * took up to 640 ms on a loaded machine here; a write to a waiting process takes microseconds, and the address
 * is in place a millisecond later. IPv6 VIPs are added with {@code nodad}. Errors ("File exists" when a VIP is already there, "Cannot assign requested
 * address" when it is already gone) are expected and only logged at debug level; {@code -force} keeps the
 * batch going after them. The process is started in the caller's network namespace.
 */
final class IpBatchVipManager implements VipManager {
    private static final Logger log = LoggerFactory.getLogger(IpBatchVipManager.class);
    private final String ifname;
    private Process process;
    private OutputStream stdin;

    IpBatchVipManager(String ifname) {
        this.ifname = ifname;
        ensureRunning();
    }

    private synchronized void ensureRunning() {
        if (process != null && process.isAlive()) {
            return;
        }
        try {
            process = new ProcessBuilder("ip", "-force", "-batch", "-").redirectErrorStream(true).start();
        } catch (IOException e) {
            throw new VrrpException("cannot start 'ip -batch -' to manage the VIPs: " + e.getMessage()
                    + " (install iproute2)", e);
        }
        stdin = process.getOutputStream();
        Process p = process;
        Thread drain = new Thread(() -> {
            try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
                for (String line; (line = r.readLine()) != null; ) {
                    log.debug("ip: {}", line);
                }
            } catch (IOException ignored) {
                // the process ended
            }
        }, "vrrp-ip-batch-output");
        drain.setDaemon(true);
        drain.start();
    }

    @Override
    public void add(List<VrrpConfig.VirtualAddress> vips) {
        run("add", vips);
    }

    /** {@code address replace} sets the lifetime of an address already there, so this also refreshes it. */
    @Override
    public void add(List<VrrpConfig.VirtualAddress> vips, java.time.Duration lifetime) {
        String lft = lifetime.isZero() ? "forever" : Long.toString(Math.max(1, lifetime.toSeconds()));
        run("replace", vips, " valid_lft " + lft + " preferred_lft " + lft);
    }

    @Override
    public void remove(List<VrrpConfig.VirtualAddress> vips) {
        run("del", vips, "");
    }

    private void run(String verb, List<VrrpConfig.VirtualAddress> vips) {
        run(verb, vips, "");
    }

    private synchronized void run(String verb, List<VrrpConfig.VirtualAddress> vips, String options) {
        StringBuilder sb = new StringBuilder();
        for (VrrpConfig.VirtualAddress v : vips) {
            sb.append("address ").append(verb).append(' ').append(v).append(" dev ").append(ifname).append(options);
            if (v.ipv6() && !verb.equals("del")) {
                // Usable at once: Duplicate Address Detection would hold the VIP tentative for a second or more
                // (no answers to Neighbor Solicitations, no traffic from it), and fail it for good if the old
                // master still held it for a moment.
                sb.append(" nodad");
            }
            sb.append('\n');
        }
        byte[] bytes = sb.toString().getBytes(StandardCharsets.US_ASCII);
        for (int attempt = 0; attempt < 2; attempt++) {
            ensureRunning();
            try {
                stdin.write(bytes);
                stdin.flush();
                return;
            } catch (IOException e) {
                log.warn("'ip -batch' died ({}); restarting it", e.getMessage());
                process.destroyForcibly();
            }
        }
        log.error("could not {} VIPs {} on {}", verb, vips, ifname);
    }

    @Override
    public synchronized void close() {
        if (process == null) {
            return;
        }
        try {
            stdin.close(); // EOF: ip finishes the queued commands and exits
            if (!process.waitFor(2, TimeUnit.SECONDS)) {
                process.destroyForcibly();
            }
        } catch (IOException e) {
            process.destroyForcibly();
        } catch (InterruptedException e) {
            process.destroyForcibly();
            Thread.currentThread().interrupt();
        }
    }
}
