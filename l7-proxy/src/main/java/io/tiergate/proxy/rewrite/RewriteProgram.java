package io.tiergate.proxy.rewrite;

import io.tiergate.shared.config.ConfigMap;
import io.tiergate.shared.config.ConfigNode;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.function.Function;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;

/**
 * A location's rewrite rules, compiled at config time, with nginx's semantics:
 * <ul>
 * <li>{@code rewrite REGEX REPLACEMENT [last|break|redirect|permanent]} runs in order against the path. Without a
 * flag processing goes on with the next rule; {@code break} stops here; {@code last} stops and asks for the location
 * to be selected again; {@code redirect}/{@code permanent} answer 302/301. A replacement starting with
 * {@code http://}, {@code https://} or {@code $scheme} is a redirect. Query arguments are appended to the replacement
 * unless it ends with '?'.
 * <li>{@code return CODE [URL|text]} is reached when no rewrite stopped processing.
 * <li>{@code strip_prefix}/{@code add_prefix} shape the URI sent upstream (applied last, not on {@code last}).
 * </ul>
 */
public final class RewriteProgram {
    public static final int MAX_PASSES = 10;
    public static final RewriteProgram EMPTY = new RewriteProgram(List.of(), null, null, null);
    private static final Logger log = LoggerFactory.getLogger(RewriteProgram.class);
    private static final Set<Integer> REDIRECTS = Set.of(301, 302, 303, 307, 308);

    public enum Flag { NONE, LAST, BREAK, REDIRECT, PERMANENT }

    public record Rule(Pattern regex, Template replacement, Flag flag) {
    }

    public record Return(int status, Template text) {
    }

    private final List<Rule> rules;
    private final Return ret;
    private final String stripPrefix;
    private final String addPrefix;

    public RewriteProgram(List<Rule> rules, Return ret, String stripPrefix, String addPrefix) {
        this.rules = List.copyOf(rules);
        this.ret = ret;
        this.stripPrefix = stripPrefix;
        this.addPrefix = addPrefix;
    }

    /**
     * Reads {@code rewrite}, {@code return}, {@code strip-prefix} and {@code add-prefix} from a location mapping.
     * The location's owner calls {@code finish()} on it.
     */
    /**
     * Every request that reaches this location is answered by it ({@code return:}, and no {@code break} rule can stop
     * before it): such a location needs no upstream.
     */
    public boolean alwaysAnswers() {
        return ret != null && rules.stream().noneMatch(r -> r.flag() == Flag.BREAK);
    }

    public static RewriteProgram parse(ConfigMap location) {
        List<Rule> rules = new ArrayList<>();
        for (ConfigNode n : location.list("rewrite")) {
            if (!(n instanceof ConfigNode.Scalar s)) {
                location.problems().add(n, "is " + n.kind(), "\"REGEX REPLACEMENT [last|break|redirect|permanent]\"");
                continue;
            }
            Rule r = parseRule(s, location);
            if (r != null) {
                rules.add(r);
            }
        }
        Return ret = null;
        if (location.has("return")) {
            ConfigNode n = location.raw("return").orElseThrow();
            if (n instanceof ConfigNode.Scalar s) {
                ret = parseReturn(s, location);
            } else {
                location.problems().add(n, "is " + n.kind(), "\"CODE [URL|text]\"");
            }
        }
        String strip = location.string("strip_prefix", null);
        String add = location.string("add_prefix", null);
        for (String[] kv : new String[][] {{"strip_prefix", strip}, {"add_prefix", add}}) {
            if (kv[1] != null && !kv[1].startsWith("/")) {
                location.error(kv[0], "'" + kv[1] + "' does not start with /", "a path prefix like /api");
            }
        }
        if (rules.isEmpty() && ret == null && strip == null && add == null) {
            return EMPTY;
        }
        return new RewriteProgram(rules, ret, strip, add);
    }

    private static Rule parseRule(ConfigNode.Scalar s, ConfigMap m) {
        String[] w = s.text().trim().split("\\s+");
        String expected = "\"REGEX REPLACEMENT [last|break|redirect|permanent]\"";
        if (w.length < 2 || w.length > 3) {
            m.problems().add(s, "'" + s.text() + "' has " + w.length + " words", expected);
            return null;
        }
        Flag flag = Flag.NONE;
        if (w.length == 3) {
            try {
                flag = Flag.valueOf(w[2].toUpperCase(Locale.ROOT));
            } catch (IllegalArgumentException e) {
                m.problems().add(s, "unknown flag '" + w[2] + "'", "one of last, break, redirect, permanent");
                return null;
            }
        }
        try {
            return new Rule(Pattern.compile(w[0]), Template.parse(w[1]), flag);
        } catch (PatternSyntaxException e) {
            m.problems().add(s, "bad regex '" + w[0] + "': " + e.getDescription(), "a Java regular expression");
        } catch (IllegalArgumentException e) {
            m.problems().add(s, e.getMessage(), "variables among $" + String.join(", $", Template.VARIABLES));
        }
        return null;
    }

    private static Return parseReturn(ConfigNode.Scalar s, ConfigMap m) {
        String t = s.text().trim();
        int sp = t.indexOf(' ');
        String code = sp < 0 ? t : t.substring(0, sp);
        String rest = sp < 0 ? "" : t.substring(sp + 1).trim();
        int status;
        try {
            status = Integer.parseInt(code);
        } catch (NumberFormatException e) {
            m.problems().add(s, "'" + code + "' is not a status code", "\"CODE [URL|text]\" like \"301 https://$host$request_uri\"");
            return null;
        }
        if (status < 200 || status > 599) {
            m.problems().add(s, status + " is out of range", "a status from 200 to 599");
            return null;
        }
        if (REDIRECTS.contains(status) && rest.isEmpty()) {
            m.problems().add(s, "redirect " + status + " without a URL", "\"" + status + " URL\"");
            return null;
        }
        try {
            return new Return(status, Template.parse(rest));
        } catch (IllegalArgumentException e) {
            m.problems().add(s, e.getMessage(), "variables among $" + String.join(", $", Template.VARIABLES));
            return null;
        }
    }

    public boolean isEmpty() {
        return this == EMPTY || (rules.isEmpty() && ret == null && stripPrefix == null && addPrefix == null);
    }

    /** One pass over this location's program. */
    public RewriteResult run(RequestContext ctx) {
        String uri = ctx.uri();
        for (Rule r : rules) {
            RequestContext cur = ctx.withUri(uri);
            Matcher m = r.regex().matcher(cur.path());
            if (!m.find()) {
                continue;
            }
            String replacement = r.replacement().expand(cur, m);
            boolean absolute = replacement.startsWith("http://") || replacement.startsWith("https://");
            String next = withArgs(replacement, cur.args());
            if (absolute || r.flag() == Flag.REDIRECT || r.flag() == Flag.PERMANENT) {
                return new RewriteResult.Redirect(r.flag() == Flag.PERMANENT ? 301 : 302, next);
            }
            uri = next;
            if (r.flag() == Flag.LAST) {
                return new RewriteResult.Continue(uri, true);
            }
            if (r.flag() == Flag.BREAK) {
                return new RewriteResult.Continue(shape(uri), false);
            }
        }
        if (ret != null) {
            String text = ret.text().expand(ctx.withUri(uri), null);
            if (REDIRECTS.contains(ret.status())) {
                return new RewriteResult.Redirect(ret.status(), text);
            }
            return new RewriteResult.Return(ret.status(), text);
        }
        return new RewriteResult.Continue(shape(uri), false);
    }

    private static String withArgs(String replacement, String args) {
        if (replacement.endsWith("?")) {
            return replacement.substring(0, replacement.length() - 1);
        }
        if (args.isEmpty()) {
            return replacement;
        }
        return replacement + (replacement.contains("?") ? "&" : "?") + args;
    }

    /** strip_prefix then add_prefix, on the path only. */
    private String shape(String uri) {
        if (stripPrefix == null && addPrefix == null) {
            return uri;
        }
        int q = uri.indexOf('?');
        String path = q < 0 ? uri : uri.substring(0, q);
        String query = q < 0 ? "" : uri.substring(q);
        if (stripPrefix != null && path.startsWith(stripPrefix)) {
            path = path.substring(stripPrefix.length());
            if (!path.startsWith("/")) {
                path = "/" + path;
            }
        }
        if (addPrefix != null) {
            path = (addPrefix.endsWith("/") ? addPrefix.substring(0, addPrefix.length() - 1) : addPrefix) + path;
        }
        return path + query;
    }

    /**
     * Runs programs until one does not ask for re-routing; {@code programFor} selects the location's program for a
     * URI. After {@value #MAX_PASSES} passes the request gets a 500 and the loop is logged (a config mistake).
     */
    public static RewriteResult resolve(RequestContext ctx, Function<String, RewriteProgram> programFor) {
        RequestContext cur = ctx;
        for (int pass = 0; pass < MAX_PASSES; pass++) {
            RewriteResult r = programFor.apply(cur.path()).run(cur);
            if (!(r instanceof RewriteResult.Continue c) || !c.reroute()) {
                return r;
            }
            cur = cur.withUri(c.uri());
        }
        log.error("rewrite loop: {} {} was still being rewritten after {} passes (now {}); answering 500",
                ctx.method(), ctx.uri(), MAX_PASSES, cur.uri());
        return new RewriteResult.Return(500, "");
    }
}
