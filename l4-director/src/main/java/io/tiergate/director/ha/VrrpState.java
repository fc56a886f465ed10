package io.tiergate.director.ha;

/** The role of a VRRP instance. {@code FAULT} is keepalived's: tracked health failed, the instance stays silent. */
public enum VrrpState {
    INIT, BACKUP, MASTER, FAULT;

    /** The word notify hooks get as argument, as keepalived's notify scripts do. */
    public String word() {
        return name();
    }
}
