package io.tiergate.cli.dr;

import io.tiergate.cli.lab.Netns;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/** Child-JVM driver for RealServerSetupTest: runs inside the test's namespace and prints what it sees. */
public final class RealServerSetupMain {
    public static void main(String[] args) throws Exception {
        String vip = args[0];
        RealServerSetup s = new RealServerSetup(List.of(vip));
        System.out.println("missing-before=" + s.missing());
        s.apply();
        System.out.println("added=" + s.addedVips());
        System.out.println("during: " + snapshot(vip));
        System.out.println("missing-during=" + s.missing());
        s.undo();
        System.out.println("after: " + snapshot(vip));
    }

    private static String snapshot(String vip) throws Exception {
        String lo = Netns.runQuiet("ip", "-o", "addr", "show", "dev", "lo");
        StringBuilder sb = new StringBuilder("lo has " + vip + "/32=" + lo.contains(" " + vip + "/32"));
        for (String k : List.of("all.arp_ignore", "all.arp_announce", "eth0.arp_ignore", "eth0.arp_announce")) {
            String[] p = k.split("\\.");
            sb.append(' ').append(k).append('=')
                    .append(Files.readString(Path.of("/proc/sys/net/ipv4/conf", p[0], p[1])).trim());
        }
        return sb.toString();
    }
}
