package io.tiergate.director.dataplane.ipvs;

/** What GET_INFO reports: the IPVS version (e.g. 1.2.1) and the connection hash table size. */
public record IpvsInfo(int versionCode, int connectionTableSize) {

    /** "1.2.1" for 0x010201. */
    public String version() {
        return ((versionCode >> 16) & 0xff) + "." + ((versionCode >> 8) & 0xff) + "." + (versionCode & 0xff);
    }
}
