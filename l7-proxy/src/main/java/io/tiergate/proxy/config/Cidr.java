package io.tiergate.proxy.config;

import java.net.InetAddress;
import java.net.UnknownHostException;

/** An address block such as {@code 10.0.0.0/8} or {@code ::1/128}; a bare address is a block of one. */
public record Cidr(byte[] network, int prefixLength, String text) {

    /** Parses without DNS: only literal addresses are accepted. Throws IllegalArgumentException. */
    public static Cidr parse(String text) {
        String s = text.trim();
        int slash = s.indexOf('/');
        String addr = slash < 0 ? s : s.substring(0, slash);
        if (!addr.matches("[0-9a-fA-F:.]+")) {
            throw new IllegalArgumentException("'" + text + "' is not an IP address or CIDR block");
        }
        byte[] bytes;
        try {
            bytes = InetAddress.getByName(addr).getAddress(); // a literal: no lookup happens
        } catch (UnknownHostException e) {
            throw new IllegalArgumentException("'" + text + "' is not an IP address or CIDR block");
        }
        int max = bytes.length * 8;
        int prefix = max;
        if (slash >= 0) {
            try {
                prefix = Integer.parseInt(s.substring(slash + 1));
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("'" + text + "' has a bad prefix length");
            }
            if (prefix < 0 || prefix > max) {
                throw new IllegalArgumentException("prefix length /" + prefix + " is out of range 0-" + max);
            }
        }
        return new Cidr(bytes, prefix, s);
    }

    /** Whether the textual address {@code ip} (as Vert.x reports remote hosts) lies in this block. */
    public boolean contains(String ip) {
        if (ip == null || !ip.matches("[0-9a-fA-F:.%a-zA-Z]+")) {
            return false;
        }
        byte[] other;
        try {
            other = InetAddress.getByName(ip).getAddress();
        } catch (UnknownHostException e) {
            return false;
        }
        if (other.length != network.length) {
            return false;
        }
        int full = prefixLength / 8;
        for (int i = 0; i < full; i++) {
            if (other[i] != network[i]) {
                return false;
            }
        }
        int rest = prefixLength % 8;
        if (rest == 0) {
            return true;
        }
        int mask = (0xff << (8 - rest)) & 0xff;
        return (other[full] & mask) == (network[full] & mask);
    }

    @Override
    public String toString() {
        return text;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Cidr c && c.text.equals(text);
    }

    @Override
    public int hashCode() {
        return text.hashCode();
    }
}
