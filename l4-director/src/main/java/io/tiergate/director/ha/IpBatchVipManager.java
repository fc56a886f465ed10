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
 * is in place a millisecond later. IPv6 VIPs are added with {@code preferred_lft 0 nodad}. Errors ("File exists" when a VIP is already there, "Cannot assign requested
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
        run("add", vips, "forever");
    }

    /** {@code address replace} sets the lifetime of an address already there, so this also refreshes it. */
    @Override
    public void add(List<VrrpConfig.VirtualAddress> vips, java.time.Duration lifetime) {
        run("replace", vips, lifetime.isZero() ? "forever" : Long.toString(Math.max(1, lifetime.toSeconds())));
    }

    @Override
    public void remove(List<VrrpConfig.VirtualAddress> vips) {
        run("del", vips, null);
    }

    /** {@code lifetime}: valid_lft in seconds or "forever"; null for a removal. */
    private synchronized void run(String verb, List<VrrpConfig.VirtualAddress> vips, String lifetime) {
        StringBuilder sb = new StringBuilder();
        for (VrrpConfig.VirtualAddress v : vips) {
            sb.append("address ").append(verb).append(' ').append(v).append(" dev ").append(ifname);
            if (lifetime != null && v.ipv6()) {
                // preferred_lft 0: a deprecated address still receives traffic and answers Neighbor Solicitations,
                // but the kernel never picks it as a source, so health checks into the real servers' prefix don't
                // leave from the VIP (DR real servers hold it on lo and would answer themselves). nodad: usable at
                // once, where Duplicate Address Detection would hold the VIP tentative for a second or more and
                // fail it for good if the old master still held it for a moment.
                sb.append(" valid_lft ").append(lifetime).append(" preferred_lft 0 nodad");
            } else if (lifetime != null) {
                sb.append(" valid_lft ").append(lifetime).append(" preferred_lft ").append(lifetime);
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
