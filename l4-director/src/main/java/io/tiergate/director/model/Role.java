package io.tiergate.director.model;

/** The HA role of this director: the active one (VRRP MASTER) forwards and sends connection sync; BACKUP receives. */
public enum Role {
    MASTER, BACKUP
}
