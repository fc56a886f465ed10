package io.tiergate.cli.lab;

/** The config files the lab writes for its processes: real Tiergate configs, kept in the lab's state directory. */
final class LabConfigs {
    private LabConfigs() {
    }

    static String proxy(String name) {
        return proxy(name, Lab.HOSTS.get("origin1"), Lab.HOSTS.get("origin2"));
    }

    /** A proxy node in front of the two origins at these addresses (port 8080). */
    static String proxy(String name, String origin1, String origin2) {
        return """
                # tiergate lab: %1$s, a DR real server (the VIP is on lo, ARP for it ignored) in front of two origins.
                proxy:
                  node_name: %1$s
                  add_node_header: X-Tiergate-Node
                  access_log: {format: off}
                  listeners: [{address: 0.0.0.0:80}]
                  upstreams:
                    app:
                      servers:
                        - {address: %2$s:8080, max_fails: 3, fail_timeout: 2s}
                        - {address: %3$s:8080, max_fails: 3, fail_timeout: 2s}
                  servers:
                    - default: true
                      # The demo origins are safe to repeat a POST on: let the proxy re-send it when an origin dies
                      # mid-request (by default only requests that were never sent are re-sent). The retry budget
                      # allows 16 concurrent retries: every request in flight to a dying origin is re-sent at once.
                      locations: [{prefix: /, upstream: app, retry: {non_idempotent: true, budget: {min: 16}}}]
                """.formatted(name, origin1, origin2);
    }

    static String director(String name, String dataplane) {
        return """
                # tiergate lab: %1$s. Both directors compute the same Maglev table with the same hash seed, so
                # whichever holds the VIP sends every flow to the same proxy node. VRRP decides which one holds it:
                # dir1 (priority 150) is master, dir2 (100) takes over within ~0.2 s when dir1's adverts stop.
                director:
                  dataplane: %2$s
                  interface: eth0
                  hash_seed: 1952804199
                  admin: 127.0.0.1:9180
                  vrrp:
                    interface: eth0
                    vrid: 77
                    priority: %8$d
                    advert_interval: 50ms
                    virtual_addresses: [%3$s/32]
                  services:
                    web:
                      vip: %3$s:%4$d
                      protocol: tcp
                      scheduler: mh
                      method: dr
                      on_failure: remove
                      # TCP connect checks are answered by the proxy node's kernel, so a busy JVM is not mistaken
                      # for a dead one; a killed node refuses at once and is out after two probes.
                      health: {type: tcp, interval: 100ms, timeout: 100ms, rise: 2, fall: 2}
                      real_servers:
                        - %5$s:80
                        - %6$s:80
                        - %7$s:80
                """.formatted(name, dataplane, Lab.VIP, Lab.VIP_PORT, Lab.HOSTS.get("proxy1"), Lab.HOSTS.get("proxy2"),
                Lab.HOSTS.get("proxy3"), priority(name));
    }

    /** VRRP priority: dir1 is the preferred master, dir2 the standby. */
    static int priority(String director) {
        return director.equals("dir1") ? 150 : 100;
    }
}
