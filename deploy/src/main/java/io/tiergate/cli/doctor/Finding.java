package io.tiergate.cli.doctor;

/** One result of a doctor check: what was looked at, what was found, and — when it's wrong — the fix. */
public record Finding(Status status, String check, String detail, String fix) {
    public enum Status { OK, WARN, FAIL }

    static Finding ok(String check, String detail) {
        return new Finding(Status.OK, check, detail, null);
    }

    static Finding warn(String check, String detail, String fix) {
        return new Finding(Status.WARN, check, detail, fix);
    }

    static Finding fail(String check, String detail, String fix) {
        return new Finding(Status.FAIL, check, detail, fix);
    }
}
