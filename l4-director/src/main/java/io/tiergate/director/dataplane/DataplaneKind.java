package io.tiergate.director.dataplane;

import io.tiergate.director.model.ForwardingMethod;
import io.tiergate.director.model.Scheduler;
import io.tiergate.shared.config.ConfigEnum;

import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;

/**
 * The dataplanes and what each can express. Kept static so {@code tiergate config check} can reject a scheduler a
 * dataplane cannot do without touching the kernel.
 */
public enum DataplaneKind implements ConfigEnum {
    /** ipvs when the kernel has it (issue 6), else nft when root and libnftables loads, else userspace. */
    AUTO("auto", EnumSet.allOf(Scheduler.class), EnumSet.allOf(ForwardingMethod.class), true, true),
    IPVS("ipvs", EnumSet.allOf(Scheduler.class), EnumSet.allOf(ForwardingMethod.class), true, false),
    /** Stateless hashing in the kernel: only schedulers that are a function of the packet. */
    NFT("nft", EnumSet.of(Scheduler.ROUND_ROBIN, Scheduler.WEIGHTED_ROUND_ROBIN, Scheduler.SOURCE_HASH, Scheduler.MAGLEV),
            EnumSet.allOf(ForwardingMethod.class), false, false),
    /** A full proxy: every scheduler; the forwarding method does not apply (it always proxies). */
    USERSPACE("userspace", EnumSet.allOf(Scheduler.class), EnumSet.allOf(ForwardingMethod.class), true, true),
    /** In-memory, for tests. */
    FAKE("fake", EnumSet.allOf(Scheduler.class), EnumSet.allOf(ForwardingMethod.class), true, true);

    private final String configName;
    private final Set<Scheduler> schedulers;
    private final Set<ForwardingMethod> methods;
    private final boolean persistenceNetmask;
    private final boolean proxyProtocol;

    DataplaneKind(String configName, Set<Scheduler> schedulers, Set<ForwardingMethod> methods,
                  boolean persistenceNetmask, boolean proxyProtocol) {
        this.configName = configName;
        this.schedulers = schedulers;
        this.methods = methods;
        this.persistenceNetmask = persistenceNetmask;
        this.proxyProtocol = proxyProtocol;
    }

    @Override
    public String configName() {
        return configName;
    }

    public boolean supports(Scheduler s) {
        return schedulers.contains(s);
    }

    public boolean supports(ForwardingMethod m) {
        return methods.contains(m);
    }

    /** Persistence with a netmask shorter than /32 (nft hashes whole addresses only). */
    public boolean supportsPersistenceNetmask() {
        return persistenceNetmask;
    }

    public boolean supportsProxyProtocol() {
        return proxyProtocol;
    }

    /** The real dataplanes (not auto, not fake) that can run a scheduler, for error messages. */
    public static List<String> namesSupporting(Scheduler s) {
        List<String> out = new ArrayList<>();
        for (DataplaneKind k : List.of(IPVS, NFT, USERSPACE)) {
            if (k.supports(s)) {
                out.add(k.configName);
            }
        }
        return out;
    }

    public static List<String> namesSupporting(ForwardingMethod m) {
        List<String> out = new ArrayList<>();
        for (DataplaneKind k : List.of(IPVS, NFT, USERSPACE)) {
            if (k.supports(m)) {
                out.add(k.configName);
            }
        }
        return out;
    }
}
