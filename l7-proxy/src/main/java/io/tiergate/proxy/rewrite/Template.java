package io.tiergate.proxy.rewrite;

import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;

/**
 * A string with nginx-style variables ($host, ${host}, $http_user_agent, $1..$9), parsed once at config time so a
 * request only concatenates.
 */
public final class Template {
    /** Variables a template may use; anything else is a config error. */
    static final List<String> VARIABLES = List.of("host", "uri", "args", "request_uri", "remote_addr", "scheme",
            "request_id", "request_method", "query_string", "http_*");

    private sealed interface Part permits Literal, Var, Capture {
    }

    private record Literal(String text) implements Part {
    }

    private record Var(String name) implements Part {
    }

    private record Capture(int group) implements Part {
    }

    private final String source;
    private final List<Part> parts;

    private Template(String source, List<Part> parts) {
        this.source = source;
        this.parts = parts;
    }

    /** @throws IllegalArgumentException with a user-facing message naming the unknown variable */
    public static Template parse(String s) {
        List<Part> parts = new ArrayList<>();
        StringBuilder lit = new StringBuilder();
        int i = 0;
        while (i < s.length()) {
            char c = s.charAt(i);
            if (c != '$' || i + 1 >= s.length()) {
                lit.append(c);
                i++;
                continue;
            }
            int start = i + 1;
            boolean braced = s.charAt(start) == '{';
            int j = braced ? start + 1 : start;
            if (!braced && Character.isDigit(s.charAt(j))) {
                flush(lit, parts);
                parts.add(new Capture(s.charAt(j) - '0'));
                i = j + 1;
                continue;
            }
            int nameStart = j;
            while (j < s.length() && (Character.isLetterOrDigit(s.charAt(j)) || s.charAt(j) == '_')) {
                j++;
            }
            String name = s.substring(nameStart, j);
            if (braced) {
                if (j >= s.length() || s.charAt(j) != '}') {
                    throw new IllegalArgumentException("unclosed ${ in '" + s + "'");
                }
                j++;
            }
            if (name.isEmpty()) {
                lit.append('$');
                i++;
                continue;
            }
            if (!name.startsWith("http_") && !VARIABLES.contains(name)) {
                throw new IllegalArgumentException("unknown variable $" + name);
            }
            flush(lit, parts);
            parts.add(new Var(name));
            i = j;
        }
        flush(lit, parts);
        return new Template(s, List.copyOf(parts));
    }

    private static void flush(StringBuilder lit, List<Part> parts) {
        if (lit.length() > 0) {
            parts.add(new Literal(lit.toString()));
            lit.setLength(0);
        }
    }

    public String expand(RequestContext ctx, Matcher captures) {
        StringBuilder out = new StringBuilder();
        for (Part p : parts) {
            if (p instanceof Literal l) {
                out.append(l.text());
            } else if (p instanceof Capture cap) {
                if (captures != null && cap.group() <= captures.groupCount() && captures.group(cap.group()) != null) {
                    out.append(captures.group(cap.group()));
                }
            } else if (p instanceof Var v) {
                out.append(value(v.name(), ctx));
            }
        }
        return out.toString();
    }

    static String value(String name, RequestContext ctx) {
        return switch (name) {
            case "host" -> ctx.host();
            case "uri" -> ctx.path();
            case "args", "query_string" -> ctx.args();
            case "request_uri" -> ctx.uri();
            case "remote_addr" -> ctx.remoteAddr() == null ? "" : ctx.remoteAddr();
            case "scheme" -> ctx.scheme();
            case "request_id" -> ctx.requestId() == null ? "" : ctx.requestId();
            case "request_method" -> ctx.method();
            default -> {
                String v = ctx.headers().get(name.substring(5).replace('_', '-'));
                yield v == null ? "" : v;
            }
        };
    }

    public boolean isConstant() {
        return parts.stream().allMatch(p -> p instanceof Literal);
    }

    @Override
    public String toString() {
        return source;
    }
}
