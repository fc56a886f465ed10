package io.tiergate.director.ha;

/** Told about every role change, in order, on the instance's notify thread (never on the advert thread). */
@FunctionalInterface
public interface VrrpRoleListener {
    void roleChanged(VrrpState from, VrrpState to);
}
