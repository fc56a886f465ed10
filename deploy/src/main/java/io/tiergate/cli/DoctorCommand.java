package io.tiergate.cli;

import io.tiergate.cli.doctor.Doctor;
import io.tiergate.cli.doctor.Finding;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;

@Command(name = "doctor", mixinStandardHelpOptions = true,
        description = {"Check this host's network setup for LVS-style load balancing and explain each problem with its fix.",
            "Run it on the director and on every real server."},
        footer = {"", "Examples:",
            "  tiergate doctor -c /etc/tiergate/tiergate.yaml     # director: and/or proxy: with dr.vips",
            "  tiergate doctor --role real-server --vip 10.0.0.100 --port 80",
            "  tiergate doctor --role director --vip 10.0.0.100 --port 80 --real-server 10.0.0.11 --real-server 10.0.0.12",
            "", "Exit codes: 0 nothing wrong (warnings allowed), 1 at least one FAIL, 2 usage error."})
final class DoctorCommand implements Callable<Integer> {
    @Option(names = {"-c", "--config"}, paramLabel = "FILE",
            description = "Take roles, VIPs, ports and real servers from a Tiergate config (director: section, and/or proxy: with dr.vips).")
    java.nio.file.Path config;

    @Option(names = "--role", paramLabel = "ROLE", description = "director or real-server")
    String role;

    @Option(names = "--mode", defaultValue = "dr", paramLabel = "MODE", description = "dr (default), nat or tunnel")
    String mode;

    @Option(names = "--vip", paramLabel = "IP", description = "A virtual IP (repeatable).")
    List<String> vips = new ArrayList<>();

    @Option(names = "--port", paramLabel = "PORT", description = "A service port (repeatable; default 80).")
    List<Integer> ports = new ArrayList<>();

    @Option(names = "--real-server", paramLabel = "IP", description = "On a director: a real server to check (repeatable).")
    List<String> realServers = new ArrayList<>();

    @picocli.CommandLine.Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() {
        List<Doctor.Plan> plans = new ArrayList<>();
        if (config != null) {
            plans.addAll(plansFrom(TiergateConfig.load(config)));
            if (plans.isEmpty()) {
                throw new UserException(config + ": nothing to check: no director: services and no proxy: dr.vips",
                        ExitCodes.CONFIG);
            }
        }
        if (role != null || !vips.isEmpty()) {
            if (role == null || vips.isEmpty()) {
                throw new UserException("--role and --vip go together (or use -c FILE)", ExitCodes.USAGE);
            }
            plans.add(planFromFlags());
        }
        if (plans.isEmpty()) {
            throw new UserException("say what to check: -c FILE, or --role and --vip (see --help)", ExitCodes.USAGE);
        }
        int fails = 0;
        int warns = 0;
        for (Doctor.Plan plan : plans) {
            spec.commandLine().getOut().println("== " + (plan.role() == Doctor.Role.DIRECTOR ? "director" : "real server")
                    + " (" + plan.mode().name().toLowerCase() + ") for " + String.join(", ", plan.vips()));
            for (Finding f : new Doctor().run(plan)) {
                spec.commandLine().getOut().println(render(f));
                fails += f.status() == Finding.Status.FAIL ? 1 : 0;
                warns += f.status() == Finding.Status.WARN ? 1 : 0;
            }
        }
        spec.commandLine().getOut().println();
        spec.commandLine().getOut().println(fails == 0 ? "No problems found" + (warns > 0 ? " (" + warns + " warnings)." : ".")
                : fails + " problem(s) found; each FAIL line above has its fix.");
        return fails == 0 ? ExitCodes.OK : ExitCodes.FAILURE;
    }

    private Doctor.Plan planFromFlags() {
        Doctor.Role r = switch (role.toLowerCase()) {
            case "director" -> Doctor.Role.DIRECTOR;
            case "real-server", "realserver", "rs", "proxy" -> Doctor.Role.REAL_SERVER;
            default -> throw new UserException("--role: unknown role '" + role + "' (expected: director or real-server)",
                    ExitCodes.USAGE);
        };
        Doctor.Mode m = switch (mode.toLowerCase()) {
            case "dr", "route" -> Doctor.Mode.DR;
            case "nat", "masq" -> Doctor.Mode.NAT;
            case "tunnel", "tun", "ipip" -> Doctor.Mode.TUNNEL;
            default -> throw new UserException("--mode: unknown mode '" + mode + "' (expected: dr, nat or tunnel)",
                    ExitCodes.USAGE);
        };
        for (String v : vips) {
            if (!v.matches("[0-9.]+|[0-9a-fA-F:]+")) {
                throw new UserException("--vip: '" + v + "' is not an IP address", ExitCodes.USAGE);
            }
        }
        return new Doctor.Plan(r, m, vips, ports.isEmpty() ? List.of(80) : ports, realServers);
    }

    /** One plan per (role, forwarding method) found in the file. */
    static List<Doctor.Plan> plansFrom(TiergateConfig cfg) {
        List<Doctor.Plan> out = new ArrayList<>();
        cfg.director().ifPresent(d -> {
            java.util.Map<io.tiergate.director.model.ForwardingMethod, List<io.tiergate.director.model.VirtualService>> byMethod =
                    new java.util.EnumMap<>(io.tiergate.director.model.ForwardingMethod.class);
            for (var s : d.services()) {
                if (!s.key().byFwmark()) {
                    byMethod.computeIfAbsent(s.method(), k -> new ArrayList<>()).add(s);
                }
            }
            byMethod.forEach((method, services) -> {
                java.util.Set<String> v = new java.util.LinkedHashSet<>();
                java.util.Set<Integer> p = new java.util.LinkedHashSet<>();
                java.util.Set<String> rs = new java.util.LinkedHashSet<>();
                for (var s : services) {
                    v.add(s.key().vip());
                    p.add(s.key().port());
                    s.realServers().forEach(r -> rs.add(r.address().host()));
                }
                Doctor.Mode mode = switch (method) {
                    case DIRECT_ROUTE -> Doctor.Mode.DR;
                    case NAT -> Doctor.Mode.NAT;
                    case TUNNEL -> Doctor.Mode.TUNNEL;
                };
                out.add(new Doctor.Plan(Doctor.Role.DIRECTOR, mode, List.copyOf(v), List.copyOf(p), List.copyOf(rs)));
            });
        });
        cfg.proxy().ifPresent(p -> {
            if (!p.drVips().isEmpty()) {
                List<Integer> ports = p.listeners().stream().map(l -> l.address().port()).distinct().toList();
                out.add(new Doctor.Plan(Doctor.Role.REAL_SERVER, p.drTunnel().enabled() ? Doctor.Mode.TUNNEL : Doctor.Mode.DR,
                        p.drVips(), ports, List.of()));
            }
        });
        return out;
    }

    private static String render(Finding f) {
        String tag = switch (f.status()) {
            case OK -> "[ ok ]";
            case WARN -> "[warn]";
            case FAIL -> "[FAIL]";
        };
        StringBuilder sb = new StringBuilder(tag).append(' ').append(f.check()).append(": ").append(f.detail());
        if (f.fix() != null) {
            for (String line : f.fix().split("\n")) {
                sb.append("\n         fix: ").append(line);
            }
        }
        return sb.toString();
    }
}
