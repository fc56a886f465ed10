package io.tiergate.director.engine;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.ArrayList;
import java.util.List;

/** Turns a real server's host into addresses; a literal address resolves to itself without any lookup. */
@FunctionalInterface
public interface Resolver {
    List<String> resolve(String host) throws UnknownHostException;

    Resolver SYSTEM = host -> {
        List<String> out = new ArrayList<>();
        for (InetAddress a : InetAddress.getAllByName(host)) {
            out.add(a.getHostAddress());
        }
        out.sort(null);
        return out;
    };

    static boolean isLiteral(String host) {
        return host.matches("\\d{1,3}(\\.\\d{1,3}){3}") || (host.indexOf(':') >= 0 && host.matches("[0-9a-fA-F:.]+"));
    }
}
