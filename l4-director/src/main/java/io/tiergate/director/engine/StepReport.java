package io.tiergate.director.engine;

/** What one engine step did: why it ran, how many services it created/replaced and deleted, how long it took. */
public record StepReport(String cause, int upserts, int deletes, long nanos, String error) {
    public boolean changed() {
        return upserts + deletes > 0;
    }
}
