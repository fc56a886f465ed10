package io.tiergate.director.bgp;

import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * One command over BIRD's control socket (what {@code birdc} does, without starting a process per change). The reply
 * is a series of lines {@code NNNN-text} (more follow), {@code  text} (continues the previous code) and a final
 * {@code NNNN text}; codes 8000 and up are errors.
 */
final class BirdControl {
    private BirdControl() {
    }

    /** A reply line: its code (the previous line's for a continuation) and its text. */
    record Line(int code, String text) {
    }

    static final class BirdException extends IOException {
        BirdException(String message) {
            super(message);
        }
    }

    /**
     * Connects, reads the greeting, sends {@code command}, returns the reply; throws on an error code. BIRD aborts a
     * {@code show} that is running when it reconfigures ("Stopped due to reconfiguration"): such a read is asked
     * again, a few times.
     */
    static List<Line> run(Path socket, String command) throws IOException {
        for (int attempt = 1; ; attempt++) {
            try {
                return runOnce(socket, command);
            } catch (BirdException e) {
                if (attempt >= 5 || !command.startsWith("show") || !e.getMessage().contains("reconfiguration")) {
                    throw e;
                }
                try {
                    Thread.sleep(20L * attempt);
                } catch (InterruptedException ie) {
                    Thread.currentThread().interrupt();
                    throw e;
                }
            }
        }
    }

    private static List<Line> runOnce(Path socket, String command) throws IOException {
        if (command.indexOf('\n') >= 0) {
            throw new IllegalArgumentException("one line only");
        }
        try (SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX)) {
            ch.connect(UnixDomainSocketAddress.of(socket));
            Reader r = new Reader(ch);
            List<Line> hello = r.reply();
            if (hello.isEmpty() || hello.get(hello.size() - 1).code() != 1) {
                throw new BirdException("unexpected greeting from " + socket + ": " + hello);
            }
            ch.write(ByteBuffer.wrap((command + "\n").getBytes(StandardCharsets.US_ASCII)));
            List<Line> reply = r.reply();
            for (Line l : reply) {
                if (l.code() >= 8000) {
                    throw new BirdException("bird '" + command + "': " + l.text().trim());
                }
            }
            return reply;
        }
    }

    private static final class Reader {
        private final SocketChannel ch;
        private final ByteBuffer buf = ByteBuffer.allocate(16384);
        private final StringBuilder pending = new StringBuilder();

        Reader(SocketChannel ch) {
            this.ch = ch;
        }

        List<Line> reply() throws IOException {
            List<Line> out = new ArrayList<>();
            int code = 0;
            while (true) {
                String line = readLine();
                if (line.length() >= 5 && Character.isDigit(line.charAt(0)) && Character.isDigit(line.charAt(3))) {
                    code = Integer.parseInt(line.substring(0, 4));
                    out.add(new Line(code, line.substring(5)));
                    if (line.charAt(4) == ' ') {
                        return out;
                    }
                } else if (line.length() == 4 && Character.isDigit(line.charAt(0))) {
                    out.add(new Line(Integer.parseInt(line), ""));
                    return out;
                } else {
                    out.add(new Line(code, line.startsWith(" ") ? line.substring(1) : line));
                }
            }
        }

        private String readLine() throws IOException {
            while (true) {
                int nl = pending.indexOf("\n");
                if (nl >= 0) {
                    String line = pending.substring(0, nl);
                    pending.delete(0, nl + 1);
                    return line;
                }
                buf.clear();
                int n = ch.read(buf);
                if (n < 0) {
                    throw new BirdException("bird closed the control socket mid-reply");
                }
                pending.append(new String(buf.array(), 0, n, StandardCharsets.US_ASCII));
            }
        }
    }
}
