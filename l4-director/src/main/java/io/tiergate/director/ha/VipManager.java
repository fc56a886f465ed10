package io.tiergate.director.ha;

import java.util.List;

/** Adds and removes the VIPs on the VRRP interface. The one piece of VRRP that changes kernel address state. */
public interface VipManager extends AutoCloseable {
    void add(List<VrrpConfig.VirtualAddress> vips);

    void remove(List<VrrpConfig.VirtualAddress> vips);

    @Override
    void close();
}
