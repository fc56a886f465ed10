package io.tiergate.cli.keepalived;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import com.fasterxml.jackson.dataformat.yaml.YAMLGenerator;

import java.math.BigDecimal;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Turns a keepalived.conf's {@code vrrp_instance} and {@code virtual_server} blocks (with the {@code vrrp_script}s
 * they track and the GARP and version settings of {@code global_defs}) into a Tiergate director config. Every
 * keyword without a Tiergate counterpart is listed in {@link Result#unmapped()} with its line and the reason, never
 * dropped silently; keywords that need no counterpart (keepalived's {@code state}, {@code router_id}, …) become
 * comments in the output.
 */
public final class KeepalivedImport {
    /** A keyword that was not carried over. */
    public record Unmapped(int line, String keyword, String why) {
    }

    /** The YAML, what could not be mapped, and syntax problems of the input. */
    public record Result(String yaml, List<Unmapped> unmapped, List<String> syntaxProblems) {
        public boolean complete() {
            return unmapped.isEmpty() && syntaxProblems.isEmpty();
        }
    }

    private final List<Unmapped> unmapped = new ArrayList<>();
    private final List<String> notes = new ArrayList<>();
    private final Map<String, KeepalivedConf.Node> scripts = new LinkedHashMap<>();
    private final java.util.Set<String> usedScripts = new java.util.HashSet<>();
    private final Map<String, Object> globalGarp = new LinkedHashMap<>();

    private KeepalivedImport() {
    }

    public static Result convert(String keepalivedConf) {
        List<String> syntax = new ArrayList<>();
        List<KeepalivedConf.Node> top = KeepalivedConf.parse(keepalivedConf, syntax);
        KeepalivedImport i = new KeepalivedImport();
        String yaml = i.run(top);
        return new Result(yaml, List.copyOf(i.unmapped), List.copyOf(syntax));
    }

    private String run(List<KeepalivedConf.Node> top) {
        for (KeepalivedConf.Node n : top) {
            if (n.keyword().equals("vrrp_script") && n.block() && n.arg(0) != null) {
                scripts.put(n.arg(0), n);
            } else if (n.keyword().equals("global_defs")) {
                globalDefs(n);
            }
        }
        Map<String, Object> director = new LinkedHashMap<>();
        Map<String, Object> services = new LinkedHashMap<>();
        boolean haveVrrp = false;
        for (KeepalivedConf.Node n : top) {
            switch (n.keyword()) {
                case "vrrp_script", "global_defs" -> {
                    // read above
                }
                case "vrrp_instance" -> {
                    if (haveVrrp) {
                        skip(n, "a director config has one vrrp section (one instance): import the other instance "
                                + "into the config of another director pair");
                    } else {
                        director.put("vrrp", vrrpInstance(n));
                        haveVrrp = true;
                    }
                }
                case "virtual_server" -> virtualServer(n, services);
                default -> skip(n, "not a vrrp_instance or virtual_server block");
            }
        }
        for (KeepalivedConf.Node s : scripts.values()) {
            if (!usedScripts.contains(s.arg(0))) {
                skip(s, "no imported vrrp_instance tracks it");
            }
        }
        if (!services.isEmpty()) {
            director.put("services", services);
        }
        StringBuilder out = new StringBuilder("# Imported from keepalived.conf by 'tiergate config import-keepalived'.\n");
        for (String note : notes) {
            out.append("# ").append(note).append('\n');
        }
        out.append(toYaml(Map.of("director", director)));
        return out.toString();
    }

    private static String toYaml(Object tree) {
        ObjectMapper m = new ObjectMapper(YAMLFactory.builder()
                .disable(YAMLGenerator.Feature.WRITE_DOC_START_MARKER)
                .enable(YAMLGenerator.Feature.MINIMIZE_QUOTES)
                .enable(YAMLGenerator.Feature.INDENT_ARRAYS_WITH_INDICATOR)
                .build());
        try {
            return m.writeValueAsString(tree);
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalStateException("cannot write YAML", e); // maps of strings and numbers: a bug
        }
    }

    private void skip(KeepalivedConf.Node n, String why) {
        unmapped.add(new Unmapped(n.line(), n.keyword(), why));
    }

    private void note(KeepalivedConf.Node n, String text) {
        notes.add("line " + n.line() + ": " + n.text() + " — " + text);
    }

    // ---- global_defs ------------------------------------------------------------------------------------------

    private void globalDefs(KeepalivedConf.Node g) {
        for (KeepalivedConf.Node n : g.children()) {
            switch (n.keyword()) {
                case "router_id" -> note(n, "no counterpart needed (the director has no router id)");
                case "vrrp_version" -> {
                    if ("3".equals(n.arg(0))) {
                        note(n, "Tiergate speaks VRRPv3");
                    } else {
                        skip(n, "Tiergate speaks VRRPv3 only: set vrrp_version 3 on every keepalived peer too");
                    }
                }
                case "vrrp_garp_master_delay" -> seconds(n).ifPresent(d -> globalGarp.put("garp_master_delay", d));
                case "vrrp_garp_master_refresh" -> seconds(n).ifPresent(d -> globalGarp.put("garp_master_refresh", d));
                case "vrrp_garp_master_repeat" -> integer(n).ifPresent(c -> globalGarp.put("garp_count", c));
                case "vrrp_garp_interval" -> seconds(n).ifPresent(d -> globalGarp.put("garp_interval", d));
                case "enable_script_security", "script_user" ->
                        note(n, "track_script commands run as the director's user, without a shell");
                default -> skip(n, "global_defs setting without a Tiergate counterpart");
            }
        }
    }

    // ---- vrrp_instance ----------------------------------------------------------------------------------------

    private Map<String, Object> vrrpInstance(KeepalivedConf.Node inst) {
        Map<String, Object> v = new LinkedHashMap<>();
        List<String> vips = new ArrayList<>();
        List<Object> trackInterfaces = new ArrayList<>();
        List<Object> trackScripts = new ArrayList<>();
        List<String> peers = new ArrayList<>();
        boolean advertSeen = false;
        boolean stateMaster = false;
        for (KeepalivedConf.Node n : inst.children()) {
            switch (n.keyword()) {
                case "state" -> {
                    stateMaster = "MASTER".equals(n.arg(0));
                    note(n, "Tiergate elects the master by priority (keepalived does too once running)");
                }
                case "interface" -> one(n).ifPresent(s -> v.put("interface", s));
                case "virtual_router_id" -> integer(n).ifPresent(i -> v.put("vrid", i));
                case "priority" -> integer(n).ifPresent(i -> v.put("priority", i));
                case "advert_int" -> {
                    advertSeen = true;
                    seconds(n).ifPresent(d -> v.put("advert_interval", d));
                }
                case "nopreempt" -> v.put("preempt", false);
                case "preempt_delay" -> seconds(n).ifPresent(d -> v.put("preempt_delay", d));
                case "garp_master_delay" -> seconds(n).ifPresent(d -> v.put("garp_master_delay", d));
                case "garp_master_refresh" -> seconds(n).ifPresent(d -> v.put("garp_master_refresh", d));
                case "garp_master_repeat" -> integer(n).ifPresent(c -> v.put("garp_count", c));
                case "unicast_src_ip" -> one(n).ifPresent(s -> v.put("source_address", s));
                case "native_ipv6" -> note(n, "the VIPs' family decides: IPv6 VIPs make an IPv6 instance");
                case "authentication" -> skip(n, "VRRPv3 has no authentication (RFC 5798); remove it on the "
                        + "keepalived side too (it only works with VRRPv2 there)");
                case "virtual_ipaddress" -> {
                    for (KeepalivedConf.Node a : n.children()) {
                        vips.add(a.keyword());
                        if (!a.args().isEmpty() && !(a.args().size() == 2 && a.arg(0).equals("dev")
                                && a.arg(1).equals(v.get("interface")))) {
                            unmapped.add(new Unmapped(a.line(), a.text(), "only the address and prefix are imported: "
                                    + "every VIP goes on the vrrp interface, without label, scope or broadcast"));
                        }
                    }
                }
                case "unicast_peer" -> n.children().forEach(p -> {
                    peers.add(p.keyword());
                    if (!p.args().isEmpty()) {
                        unmapped.add(new Unmapped(p.line(), p.text(), "per-peer options are not imported"));
                    }
                });
                case "track_interface" -> n.children().forEach(t -> trackInterfaces.add(trackInterface(t)));
                case "track_script" -> n.children().forEach(t -> trackScript(t).ifPresent(trackScripts::add));
                default -> skip(n, "vrrp_instance setting without a Tiergate counterpart");
            }
        }
        // What keepalived itself does with these combinations (it says so in its log and carries on).
        if (stateMaster && (v.containsKey("preempt") || v.containsKey("preempt_delay"))) {
            v.remove("preempt");
            v.remove("preempt_delay");
            notes.add("vrrp_instance " + inst.arg(0) + ": keepalived clears nopreempt and preempt_delay with state "
                    + "MASTER, so they are not imported");
        } else if (v.containsKey("preempt") && v.remove("preempt_delay") != null) {
            notes.add("vrrp_instance " + inst.arg(0) + ": keepalived resets preempt_delay with nopreempt, so it is "
                    + "not imported");
        }
        globalGarp.forEach(v::putIfAbsent);
        if (!advertSeen) {
            v.put("advert_interval", "1s"); // keepalived's default; Tiergate's own is 100ms
            notes.add("vrrp_instance " + inst.arg(0) + ": no advert_int, so keepalived's default 1s is kept");
        }
        if (!vips.isEmpty()) {
            v.put("virtual_addresses", vips);
        }
        if (!peers.isEmpty()) {
            v.put("unicast_peers", peers);
        }
        if (!trackInterfaces.isEmpty()) {
            v.put("track_interface", trackInterfaces);
        }
        if (!trackScripts.isEmpty()) {
            v.put("track_script", trackScripts);
        }
        return v;
    }

    private Object trackInterface(KeepalivedConf.Node t) {
        if (t.args().isEmpty()) {
            return t.keyword();
        }
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("name", t.keyword());
        if (t.args().size() == 2 && t.arg(0).equals("weight")) {
            m.put("weight", parseInt(t.arg(1), t));
        } else {
            unmapped.add(new Unmapped(t.line(), t.text(), "only 'weight N' is imported for a tracked interface"));
        }
        return m;
    }

    private java.util.Optional<Map<String, Object>> trackScript(KeepalivedConf.Node t) {
        KeepalivedConf.Node s = scripts.get(t.keyword());
        if (s == null) {
            unmapped.add(new Unmapped(t.line(), t.keyword(), "no vrrp_script block of that name"));
            return java.util.Optional.empty();
        }
        usedScripts.add(t.keyword());
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("name", t.keyword());
        for (KeepalivedConf.Node n : s.children()) {
            switch (n.keyword()) {
                case "script" -> m.put("script", String.join(" ", n.args()));
                case "interval", "timeout" -> seconds(n).ifPresent(d -> m.put(n.keyword(), d));
                case "rise", "fall", "weight" -> integer(n).ifPresent(i -> m.put(n.keyword(), i));
                case "init_fail" -> m.put("init_fail", true);
                default -> skip(n, "vrrp_script setting without a Tiergate counterpart");
            }
        }
        if (t.args().size() == 2 && t.arg(0).equals("weight")) {
            m.put("weight", parseInt(t.arg(1), t)); // the instance's weight wins, as in keepalived
        } else if (!t.args().isEmpty()) {
            unmapped.add(new Unmapped(t.line(), t.text(), "only 'weight N' is imported for a tracked script"));
        }
        return java.util.Optional.of(m);
    }

    // ---- virtual_server ---------------------------------------------------------------------------------------

    private void virtualServer(KeepalivedConf.Node vs, Map<String, Object> services) {
        Map<String, Object> s = new LinkedHashMap<>();
        String name;
        if ("fwmark".equals(vs.arg(0)) && vs.args().size() == 2) {
            name = "fwmark_" + vs.arg(1);
            s.put("fwmark", parseInt(vs.arg(1), vs));
        } else if (vs.args().size() == 2 && !vs.arg(0).equals("group")) {
            name = "vs_" + vs.arg(0).replaceAll("[^0-9A-Za-z]", "_") + "_" + vs.arg(1);
            s.put("vip", hostPort(vs.arg(0), vs.arg(1)));
        } else {
            skip(vs, "only 'virtual_server IP PORT' and 'virtual_server fwmark N' are imported (not groups)");
            return;
        }
        String interval = "60s"; // keepalived's delay_loop default
        boolean inhibit = false;
        List<Map<String, Object>> servers = new ArrayList<>();
        List<Map<String, Object>> checks = new ArrayList<>();
        for (KeepalivedConf.Node n : vs.children()) {
            switch (n.keyword()) {
                case "delay_loop" -> interval = seconds(n).orElse(interval);
                case "lb_algo", "lvs_sched" -> one(n).ifPresent(a -> scheduler(n, a, s));
                case "lb_kind", "lvs_method" -> one(n).ifPresent(k -> method(n, k, s));
                case "protocol" -> one(n).ifPresent(p -> {
                    if (p.equalsIgnoreCase("TCP") || p.equalsIgnoreCase("UDP")) {
                        s.put("protocol", p.toLowerCase(Locale.ROOT));
                    } else {
                        skip(n, "Tiergate balances TCP and UDP");
                    }
                });
                case "persistence_timeout" -> seconds(n).ifPresent(d -> persistence(s).put("timeout", d));
                case "persistence_granularity" -> one(n).ifPresent(g -> persistence(s).put("netmask", g));
                case "quorum" -> integer(n).ifPresent(q -> s.put("quorum", q));
                case "sorry_server" -> {
                    if (n.args().size() == 2) {
                        s.put("sorry_server", hostPort(n.arg(0), n.arg(1)));
                    } else {
                        skip(n, "expected 'sorry_server IP PORT'");
                    }
                }
                case "inhibit_on_failure" -> inhibit = true;
                case "real_server" -> {
                    if (n.args().size() != 2) {
                        skip(n, "expected 'real_server IP PORT'");
                        continue;
                    }
                    Map<String, Object> rs = new LinkedHashMap<>();
                    rs.put("address", hostPort(n.arg(0), n.arg(1)));
                    Map<String, Object> check = null;
                    for (KeepalivedConf.Node c : n.children()) {
                        switch (c.keyword()) {
                            case "weight" -> integer(c).ifPresent(w -> rs.put("weight", w));
                            case "inhibit_on_failure" -> inhibit = true;
                            case "TCP_CHECK", "HTTP_GET", "SSL_GET" -> {
                                if (check != null) {
                                    skip(c, "one check per real server is imported (the first)");
                                } else {
                                    check = check(c);
                                }
                            }
                            default -> skip(c, "real_server setting without a Tiergate counterpart");
                        }
                    }
                    servers.add(rs);
                    checks.add(check == null ? Map.of("type", "none") : check);
                }
                default -> skip(n, "virtual_server setting without a Tiergate counterpart");
            }
        }
        // keepalived takes a failed server out unless inhibit_on_failure (weight 0); Tiergate's default is weight0.
        s.put("on_failure", inhibit ? "weight0" : "remove");
        for (Map<String, Object> c : checks) {
            if (!"none".equals(c.get("type"))) {
                c.put("interval", interval);
                if (c.containsKey("timeout") && millis(c.get("timeout").toString()) > millis(interval)) {
                    notes.add("virtual_server " + vs.text() + ": connect_timeout " + c.get("timeout")
                            + " is longer than delay_loop " + interval + "; imported as " + interval
                            + " (Tiergate's probes never overlap)");
                    c.put("timeout", interval);
                }
            }
        }
        boolean same = checks.stream().distinct().count() <= 1;
        if (same) {
            s.put("health", checks.isEmpty() ? Map.of("type", "none") : checks.get(0));
        } else {
            for (int i = 0; i < servers.size(); i++) {
                servers.get(i).put("health", checks.get(i));
            }
        }
        List<Object> rsOut = new ArrayList<>();
        for (Map<String, Object> rs : servers) {
            rsOut.add(rs.size() == 1 ? rs.get("address") : rs);
        }
        s.put("real_servers", rsOut);
        services.put(name, s);
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> persistence(Map<String, Object> s) {
        return (Map<String, Object>) s.computeIfAbsent("persistence", k -> new LinkedHashMap<String, Object>());
    }

    private void scheduler(KeepalivedConf.Node n, String algo, Map<String, Object> s) {
        String a = algo.toLowerCase(Locale.ROOT);
        if (List.of("rr", "wrr", "lc", "wlc", "sed", "nq", "sh", "mh").contains(a)) {
            s.put("scheduler", a);
        } else {
            skip(n, "scheduler '" + algo + "' has no Tiergate counterpart (rr, wrr, lc, wlc, sed, nq, sh, mh)");
        }
    }

    private void method(KeepalivedConf.Node n, String kind, Map<String, Object> s) {
        switch (kind.toUpperCase(Locale.ROOT)) {
            case "DR" -> s.put("method", "dr");
            case "NAT" -> s.put("method", "nat");
            case "TUN" -> s.put("method", "tunnel");
            default -> skip(n, "forwarding method '" + kind + "' has no Tiergate counterpart (DR, NAT, TUN)");
        }
    }

    private Map<String, Object> check(KeepalivedConf.Node c) {
        Map<String, Object> h = new LinkedHashMap<>();
        h.put("type", switch (c.keyword()) {
            case "HTTP_GET" -> "http";
            case "SSL_GET" -> "https";
            default -> "tcp";
        });
        h.put("timeout", "5s"); // keepalived's connect_timeout default
        int retry = 1;          // keepalived's default: one retry before the server is taken out
        boolean url = false;
        for (KeepalivedConf.Node n : c.children()) {
            switch (n.keyword()) {
                case "connect_timeout" -> seconds(n).ifPresent(d -> h.put("timeout", d));
                case "retry", "nb_get_retry" -> retry = integer(n).orElse(retry);
                case "url" -> {
                    if (url) {
                        skip(n, "one url per check is imported (the first)");
                        continue;
                    }
                    url = true;
                    for (KeepalivedConf.Node u : n.children()) {
                        switch (u.keyword()) {
                            case "path" -> one(u).ifPresent(p -> h.put("path", p));
                            case "status_code" -> integer(u).ifPresent(code -> h.put("expect_status", List.of(code)));
                            default -> skip(u, "url setting without a Tiergate counterpart (digest and regex "
                                    + "checks are not imported)");
                        }
                    }
                }
                default -> skip(n, c.keyword() + " setting without a Tiergate counterpart");
            }
        }
        h.put("rise", 1);          // keepalived puts a server back after one good check
        h.put("fall", retry + 1);  // ... and takes it out after the first failure and its retries
        return h;
    }

    // ---- values -----------------------------------------------------------------------------------------------

    /** IP and port as Tiergate writes them: {@code 10.0.0.1:80}, {@code [2001:db8::1]:80}. */
    private static String hostPort(String ip, String port) {
        return (ip.indexOf(':') >= 0 ? "[" + ip + "]" : ip) + ":" + port;
    }

    private java.util.Optional<String> one(KeepalivedConf.Node n) {
        if (n.args().size() != 1) {
            skip(n, "expected one value");
            return java.util.Optional.empty();
        }
        return java.util.Optional.of(n.arg(0));
    }

    private java.util.Optional<Integer> integer(KeepalivedConf.Node n) {
        return one(n).flatMap(s -> {
            try {
                return java.util.Optional.of(Integer.parseInt(s));
            } catch (NumberFormatException e) {
                skip(n, "'" + s + "' is not a whole number");
                return java.util.Optional.empty();
            }
        });
    }

    private int parseInt(String s, KeepalivedConf.Node n) {
        try {
            return Integer.parseInt(s);
        } catch (NumberFormatException e) {
            skip(n, "'" + s + "' is not a whole number");
            return 0;
        }
    }

    /** keepalived's seconds (fractions allowed) as a Tiergate duration: 1 → 1s, 0.05 → 50ms. */
    private java.util.Optional<String> seconds(KeepalivedConf.Node n) {
        return one(n).flatMap(s -> {
            try {
                long ms = new BigDecimal(s).movePointRight(3).longValueExact();
                if (ms < 0) {
                    throw new ArithmeticException();
                }
                return java.util.Optional.of(ms % 1000 == 0 ? ms / 1000 + "s" : ms + "ms");
            } catch (NumberFormatException | ArithmeticException e) {
                skip(n, "'" + s + "' is not a number of seconds (at most millisecond precision)");
                return java.util.Optional.empty();
            }
        });
    }

    private static long millis(String duration) {
        return duration.endsWith("ms") ? Long.parseLong(duration.substring(0, duration.length() - 2))
                : Long.parseLong(duration.substring(0, duration.length() - 1)) * 1000;
    }
}
