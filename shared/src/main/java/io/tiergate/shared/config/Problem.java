package io.tiergate.shared.config;

/**
 * One thing wrong with a configuration, pointing at the exact place: {@code FILE:LINE:COL: path: message (expected: ...)}.
 */
public record Problem(String file, int line, int column, String path, String message, String expected) {

    public String format() {
        StringBuilder sb = new StringBuilder();
        sb.append(file == null ? "<config>" : file);
        if (line > 0) {
            sb.append(':').append(line).append(':').append(column);
        }
        sb.append(": ");
        if (path != null && !path.isEmpty()) {
            sb.append(path).append(": ");
        }
        sb.append(message);
        if (expected != null && !expected.isEmpty()) {
            sb.append(" (expected: ").append(expected).append(')');
        }
        return sb.toString();
    }

    @Override
    public String toString() {
        return format();
    }
}
