package io.tiergate.cli.doctor;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/**
 * What the doctor reads from the host it runs on (its network namespace): sysctls from /proc, addresses,
 * routes and neighbours from {@code ip -j}, listening sockets from /proc/net/tcp{,6}.
 */
final class HostState {
    private static final ObjectMapper JSON = new ObjectMapper();

    record Address(String ifname, String address, int prefixLen, int mtu, boolean up) {
    }

    record Route(String dev, String gateway, String prefsrc) {
    }

    record Listener(String address, int port) {
    }

    Optional<String> sysctl(String name) {
        Path p = Path.of("/proc/sys", name.replace('.', '/'));
        try {
            return Optional.of(Files.readString(p).trim());
        } catch (IOException e) {
            return Optional.empty();
        }
    }

    int sysctlInt(String name, int def) {
        return sysctl(name).map(s -> {
            try {
                return Integer.parseInt(s);
            } catch (NumberFormatException e) {
                return def;
            }
        }).orElse(def);
    }

    List<Address> addresses() {
        List<Address> out = new ArrayList<>();
        JsonNode links = ipJson("-j", "addr", "show");
        for (JsonNode link : links) {
            String ifname = link.path("ifname").asText();
            int mtu = link.path("mtu").asInt();
            boolean up = false;
            for (JsonNode f : link.path("flags")) {
                up |= f.asText().equals("UP");
            }
            for (JsonNode a : link.path("addr_info")) {
                if (a.path("family").asText().equals("inet") || a.path("family").asText().equals("inet6")) {
                    out.add(new Address(ifname, a.path("local").asText(), a.path("prefixlen").asInt(), mtu, up));
                }
            }
            if (!link.path("addr_info").elements().hasNext()) {
                out.add(new Address(ifname, null, 0, mtu, up));
            }
        }
        return out;
    }

    List<String> interfacesUp() {
        List<String> out = new ArrayList<>();
        for (Address a : addresses()) {
            if (a.up() && !a.ifname().equals("lo") && !out.contains(a.ifname())) {
                out.add(a.ifname());
            }
        }
        return out;
    }

    int mtu(String ifname) {
        for (Address a : addresses()) {
            if (a.ifname().equals(ifname)) {
                return a.mtu();
            }
        }
        return -1;
    }

    Optional<Route> routeTo(String address) {
        JsonNode r = ipJson("-j", "route", "get", address);
        if (!r.isArray() || r.isEmpty()) {
            return Optional.empty();
        }
        JsonNode first = r.get(0);
        String gw = first.hasNonNull("gateway") ? first.get("gateway").asText() : null;
        return Optional.of(new Route(first.path("dev").asText(), gw, first.path("prefsrc").asText(null)));
    }

    /** The neighbour state (REACHABLE, STALE, FAILED, ...) after poking the address so the kernel resolves it. */
    Optional<String> resolveNeighbour(String address, int port) {
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress(InetAddress.getByName(address), port), 500);
        } catch (IOException ignored) {
            // Refused or timed out is fine: the point was to make the kernel ARP for the address.
        }
        JsonNode n = ipJson("-j", "neigh", "show", "to", address);
        if (!n.isArray() || n.isEmpty()) {
            return Optional.empty();
        }
        JsonNode state = n.get(0).path("state");
        return Optional.of(state.isArray() && !state.isEmpty() ? state.get(0).asText() : state.asText("UNKNOWN"));
    }

    List<Listener> tcpListeners() {
        List<Listener> out = new ArrayList<>();
        readProcNet(Path.of("/proc/net/tcp"), false, out);
        readProcNet(Path.of("/proc/net/tcp6"), true, out);
        return out;
    }

    private static void readProcNet(Path file, boolean v6, List<Listener> out) {
        List<String> lines;
        try {
            lines = Files.readAllLines(file);
        } catch (IOException e) {
            return;
        }
        for (String line : lines.subList(Math.min(1, lines.size()), lines.size())) {
            String[] f = line.trim().split("\\s+");
            if (f.length < 4 || !f[3].equals("0A")) { // 0A = TCP_LISTEN
                continue;
            }
            String[] local = f[1].split(":");
            out.add(new Listener(decodeAddress(local[0], v6), Integer.parseInt(local[1], 16)));
        }
    }

    /** /proc/net/tcp prints addresses as host-order 32-bit words in hex. */
    static String decodeAddress(String hex, boolean v6) {
        byte[] b = new byte[hex.length() / 2];
        for (int word = 0; word < b.length / 4; word++) {
            for (int i = 0; i < 4; i++) {
                int src = word * 8 + (3 - i) * 2;
                b[word * 4 + i] = (byte) Integer.parseInt(hex.substring(src, src + 2), 16);
            }
        }
        try {
            String s = InetAddress.getByAddress(b).getHostAddress();
            return v6 && s.equals("0:0:0:0:0:0:0:0") ? "::" : s;
        } catch (IOException e) {
            return hex;
        }
    }

    boolean libnftablesPresent() {
        for (String dir : new String[] {"/usr/lib/x86_64-linux-gnu", "/usr/lib64", "/usr/lib", "/lib/x86_64-linux-gnu"}) {
            if (Files.exists(Path.of(dir, "libnftables.so.1"))) {
                return true;
            }
        }
        return false;
    }

    /** Loaded, or loadable ({@code modprobe -n}: a dry run, the doctor changes nothing). */
    boolean kernelModuleAvailable(String module) {
        if (Files.isDirectory(Path.of("/sys/module", module))) {
            return true;
        }
        return command("modprobe", "-n", "-q", module).exit() == 0;
    }

    /** {@code nft list tables} output ("" when nft is missing or not permitted). */
    String nftTables() {
        Exec r = command("nft", "list", "tables");
        return r.exit() == 0 ? r.output() : "";
    }

    record Exec(int exit, String output) {
    }

    private static Exec command(String... cmd) {
        try {
            Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            return p.waitFor(5, TimeUnit.SECONDS) ? new Exec(p.exitValue(), out) : new Exec(-1, out);
        } catch (IOException e) {
            return new Exec(-1, e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return new Exec(-1, "interrupted");
        }
    }

    boolean ipvsPresent() {
        return Files.exists(Path.of("/proc/net/ip_vs"));
    }

    boolean isRoot() {
        return "root".equals(System.getProperty("user.name"));
    }

    private static JsonNode ipJson(String... args) {
        List<String> cmd = new ArrayList<>();
        cmd.add("ip");
        cmd.addAll(List.of(args));
        try {
            Process p = new ProcessBuilder(cmd).redirectErrorStream(false).start();
            byte[] out = p.getInputStream().readAllBytes();
            p.waitFor(5, TimeUnit.SECONDS);
            String s = new String(out, StandardCharsets.UTF_8).trim();
            return s.isEmpty() ? JSON.createArrayNode() : JSON.readTree(s);
        } catch (IOException e) {
            return JSON.createArrayNode();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return JSON.createArrayNode();
        }
    }
}
