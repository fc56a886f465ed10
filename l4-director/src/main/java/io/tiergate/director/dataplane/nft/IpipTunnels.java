package io.tiergate.director.dataplane.nft;

import io.tiergate.director.dataplane.DataplaneException;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Collection;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;

/**
 * The IPIP devices of the nft tunnel method, one per real server ({@link NftRuleset#tunnelDevice}), driven through
 * {@code ip}. Only devices named with {@link NftRuleset#TUNNEL_PREFIX} are ever created or deleted: an operator's own
 * tunnels (or tunl0) are left alone. The kernel sizes a new device's MTU from the route to its remote (underlay
 * MTU − 20 for the outer header).
 */
final class IpipTunnels {

    /** Why this kernel cannot carry the tunnel method, or empty when the ipip module is there (or loads). */
    static Optional<String> unavailableReason() {
        if (Files.isDirectory(Path.of("/sys/module/ipip"))) {
            return Optional.empty();
        }
        String out;
        boolean ok;
        try {
            Process p = new ProcessBuilder("modprobe", "ipip").redirectErrorStream(true).start();
            out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
            ok = p.waitFor(10, TimeUnit.SECONDS) && p.exitValue() == 0;
        } catch (IOException e) {
            out = e.getMessage();
            ok = false;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            out = "interrupted";
            ok = false;
        }
        if (ok && Files.isDirectory(Path.of("/sys/module/ipip"))) {
            return Optional.empty();
        }
        return Optional.of("the kernel has no IPIP tunnels: module ipip is not loaded and `modprobe ipip` "
                + (ok ? "did not add it" : "failed" + (out.isEmpty() ? "" : " (" + out.lines().findFirst().orElse("") + ")"))
                + "; method 'tunnel' on nft needs a kernel with CONFIG_NET_IPIP");
    }

    /** Tiergate's IPIP devices present now. */
    Set<String> existing() throws DataplaneException {
        Set<String> out = new TreeSet<>();
        // "7: tgt-0a01000b@NONE: <POINTOPOINT,NOARP,UP,LOWER_UP> mtu 1480 ..."
        for (String line : ip(List.of("-o", "link", "show", "type", "ipip"), null).split("\n")) {
            String[] parts = line.split(": ", 3);
            if (parts.length >= 2) {
                String name = parts[1].split("@", 2)[0].trim();
                if (name.startsWith(NftRuleset.TUNNEL_PREFIX)) {
                    out.add(name);
                }
            }
        }
        return out;
    }

    /** Creates and brings up the devices of real servers that have none yet; one {@code ip -batch}. */
    void ensure(Collection<String> realServers, Set<String> existing) throws DataplaneException {
        StringBuilder batch = new StringBuilder();
        for (String rs : new TreeSet<>(realServers)) {
            String dev = NftRuleset.tunnelDevice(rs);
            if (!existing.contains(dev)) {
                batch.append("link add ").append(dev).append(" type ipip remote ").append(rs).append('\n');
                batch.append("link set ").append(dev).append(" up\n");
            }
        }
        if (!batch.isEmpty()) {
            ip(List.of("-batch", "-"), batch.toString());
        }
    }

    /** Deletes Tiergate's devices that no rule forwards into any more. */
    void prune(Set<String> existing, Set<String> referenced) throws DataplaneException {
        StringBuilder batch = new StringBuilder();
        for (String dev : existing) {
            if (dev.startsWith(NftRuleset.TUNNEL_PREFIX) && !referenced.contains(dev)) {
                batch.append("link del ").append(dev).append('\n');
            }
        }
        if (!batch.isEmpty()) {
            ip(List.of("-batch", "-"), batch.toString());
        }
    }

    private static String ip(List<String> args, String stdin) throws DataplaneException {
        List<String> cmd = new java.util.ArrayList<>(List.of("ip"));
        cmd.addAll(args);
        try {
            Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
            if (stdin != null) {
                p.getOutputStream().write(stdin.getBytes(StandardCharsets.UTF_8));
            }
            p.getOutputStream().close();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (!p.waitFor(10, TimeUnit.SECONDS) || p.exitValue() != 0) {
                throw new DataplaneException("tunnel devices: `" + String.join(" ", cmd) + "` failed: "
                        + out.trim().replace("\n", " ") + (stdin == null ? "" : " (batch: " + stdin.trim().replace("\n", "; ") + ")"));
            }
            return out;
        } catch (IOException e) {
            throw new DataplaneException("tunnel devices: cannot run ip (" + e.getMessage() + "); apt-get install iproute2");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new DataplaneException("tunnel devices: interrupted");
        }
    }
}
