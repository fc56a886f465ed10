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
            "  tiergate doctor --role real-server --vip 10.0.0.100 --port 80",
            "  tiergate doctor --role director --vip 10.0.0.100 --port 80 --real-server 10.0.0.11 --real-server 10.0.0.12",
            "", "Exit codes: 0 nothing wrong (warnings allowed), 1 at least one FAIL, 2 usage error."})
final class DoctorCommand implements Callable<Integer> {
    @Option(names = "--role", required = true, paramLabel = "ROLE", description = "director or real-server")
    String role;

    @Option(names = "--mode", defaultValue = "dr", paramLabel = "MODE", description = "dr (default), nat or tunnel")
    String mode;

    @Option(names = "--vip", required = true, paramLabel = "IP", description = "A virtual IP (repeatable).")
    List<String> vips = new ArrayList<>();

    @Option(names = "--port", paramLabel = "PORT", description = "A service port (repeatable; default 80).")
    List<Integer> ports = new ArrayList<>();

    @Option(names = "--real-server", paramLabel = "IP", description = "On a director: a real server to check (repeatable).")
    List<String> realServers = new ArrayList<>();

    @picocli.CommandLine.Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() {
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
        List<Integer> p = ports.isEmpty() ? List.of(80) : ports;
        List<Finding> findings = new Doctor().run(new Doctor.Plan(r, m, vips, p, realServers));
        int fails = 0;
        int warns = 0;
        for (Finding f : findings) {
            spec.commandLine().getOut().println(render(f));
            fails += f.status() == Finding.Status.FAIL ? 1 : 0;
            warns += f.status() == Finding.Status.WARN ? 1 : 0;
        }
        spec.commandLine().getOut().println();
        spec.commandLine().getOut().println(fails == 0 ? "No problems found" + (warns > 0 ? " (" + warns + " warnings)." : ".")
                : fails + " problem(s) found; each FAIL line above has its fix.");
        return fails == 0 ? ExitCodes.OK : ExitCodes.FAILURE;
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
