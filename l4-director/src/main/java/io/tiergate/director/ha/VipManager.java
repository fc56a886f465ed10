package io.tiergate.director.ha;

import java.util.List;

/** Adds and removes the VIPs on the VRRP interface. The one piece of VRRP that changes kernel address state. */
public interface VipManager extends AutoCloseable {
    void add(List<VrrpConfig.VirtualAddress> vips);

    /**
     * Adds (or refreshes) the VIPs so that the kernel removes them by itself {@code lifetime} after the last call:
     * what a SIGKILLed master leaves behind expires. {@link java.time.Duration#ZERO}: forever. A manager that can't
     * do lifetimes adds them for good.
     */
    default void add(List<VrrpConfig.VirtualAddress> vips, java.time.Duration lifetime) {
        add(vips);
    }

    void remove(List<VrrpConfig.VirtualAddress> vips);

    @Override
    void close();
}
