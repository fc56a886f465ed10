package io.tiergate.cli.keepalived;

import java.util.ArrayList;
import java.util.List;

/**
 * A keepalived.conf read into a tree of statements: a keyword, its arguments on the same line, and, when a
 * {@code {} follows, the statements of that block. Comments run from {@code #} or {@code !} to the end of the
 * line; double quotes keep a string with spaces together ({@code script "/usr/bin/pgrep -x haproxy"}). Syntax only:
 * what the keywords mean is {@link KeepalivedImport}'s business.
 */
public final class KeepalivedConf {
    /** One statement; {@code children} is empty and {@code block} false for a plain line. */
    public record Node(String keyword, List<String> args, int line, List<Node> children, boolean block) {
        public String arg(int i) {
            return i < args.size() ? args.get(i) : null;
        }

        /** Keyword and arguments as written (for messages). */
        public String text() {
            return args.isEmpty() ? keyword : keyword + " " + String.join(" ", args);
        }
    }

    private record Token(String text, int line, boolean quoted) {
        boolean is(String s) {
            return !quoted && text.equals(s);
        }
    }

    private static final Token NEWLINE = new Token("\n", 0, false);
    /** keepalived nests four deep (virtual_server, real_server, HTTP_GET, url); more is not a keepalived.conf. */
    private static final int MAX_DEPTH = 16;

    private final List<Token> tokens = new ArrayList<>();
    private int pos;
    private final List<String> problems = new ArrayList<>();

    private KeepalivedConf(String text) {
        String[] lines = text.split("\r?\n", -1);
        for (int i = 0; i < lines.length; i++) {
            tokenize(lines[i], i + 1);
            tokens.add(NEWLINE);
        }
    }

    /** The top-level statements of {@code text}; syntax problems (unbalanced braces) go to {@code problems}. */
    public static List<Node> parse(String text, List<String> problems) {
        KeepalivedConf c = new KeepalivedConf(text);
        List<Node> top = c.block(0, 0);
        while (c.pos < c.tokens.size()) {
            Token t = c.tokens.get(c.pos++);
            if (t.is("}")) {
                c.problems.add(t.line() + ": '}' without a matching '{'");
            }
            top.addAll(c.block(0, 0));
        }
        problems.addAll(c.problems);
        return top;
    }

    private void tokenize(String line, int n) {
        int i = 0;
        while (i < line.length()) {
            char ch = line.charAt(i);
            if (Character.isWhitespace(ch)) {
                i++;
            } else if (ch == '#' || ch == '!') {
                return;
            } else if (ch == '{' || ch == '}') {
                tokens.add(new Token(String.valueOf(ch), n, false));
                i++;
            } else if (ch == '"') {
                int end = line.indexOf('"', i + 1);
                if (end < 0) {
                    problems.add(n + ": a quote that is never closed");
                    end = line.length();
                }
                tokens.add(new Token(line.substring(i + 1, end), n, true));
                i = end + 1;
            } else {
                int start = i;
                while (i < line.length() && !Character.isWhitespace(line.charAt(i)) && "{}\"".indexOf(line.charAt(i)) < 0) {
                    i++;
                }
                tokens.add(new Token(line.substring(start, i), n, false));
            }
        }
    }

    /** Statements until a '}' (consumed) or the end. */
    private List<Node> block(int openedAt, int depth) {
        List<Node> out = new ArrayList<>();
        Node current = null;
        while (pos < tokens.size()) {
            Token t = tokens.get(pos++);
            if (t == NEWLINE) {
                current = null;
            } else if (t.is("{")) {
                if (depth >= MAX_DEPTH) {
                    problems.add(t.line() + ": blocks nested deeper than " + MAX_DEPTH + "; the rest is not read");
                    pos = tokens.size();
                    return out;
                }
                Node owner = current != null ? current : out.isEmpty() ? null : out.get(out.size() - 1);
                List<Node> children = block(t.line(), depth + 1);
                if (owner == null || owner.block()) {
                    problems.add(t.line() + ": a block that belongs to no keyword");
                } else {
                    Node withBlock = new Node(owner.keyword(), owner.args(), owner.line(), children, true);
                    out.set(out.size() - 1, withBlock); // the owner is always the last statement
                }
                current = null;
            } else if (t.is("}")) {
                if (openedAt == 0) {
                    pos--; // the caller reports it
                }
                return out;
            } else if (current == null) {
                current = new Node(t.text(), new ArrayList<>(), t.line(), List.of(), false);
                out.add(current);
            } else {
                current.args().add(t.text());
            }
        }
        if (openedAt > 0) {
            problems.add(openedAt + ": '{' is never closed");
        }
        return out;
    }
}
