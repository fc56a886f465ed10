package io.tiergate.cli;

/** Fallback version when not running from the packaged jar. */
final class BuildInfo {
    static final String VERSION = "0.1.0-SNAPSHOT";

    private BuildInfo() {
    }
}
