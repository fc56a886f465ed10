package io.tiergate.shared.maglev;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.tiergate.shared.maglev.MaglevTable.Backend;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class MaglevTableTest {

    private static List<Backend> mixed(int n) {
        List<Backend> list = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            // weights 1..4 cycling, so every table mixes heavy and light backends
            list.add(new Backend("10.0." + (i / 250) + "." + (i % 250 + 1) + ":80", 1 + i % 4));
        }
        return list;
    }

    @ParameterizedTest
    @ValueSource(ints = {1, 3, 10, 50})
    void eachBackendsShareFollowsItsWeightWithinOnePercent(int n) {
        List<Backend> backends = mixed(n);
        MaglevTable table = MaglevTable.build(backends);
        assertThat(table.size()).isGreaterThanOrEqualTo(Math.max(100 * n, 251));

        int[] counts = new int[n];
        for (int s = 0; s < table.size(); s++) {
            counts[table.backendIndexAt(s)]++;
        }
        double totalWeight = backends.stream().mapToInt(Backend::weight).sum();
        for (int i = 0; i < n; i++) {
            Backend b = table.backends().get(i);
            double share = 100.0 * counts[i] / table.size();
            double expected = 100.0 * b.weight() / totalWeight;
            assertThat(share)
                    .as("share of %s (weight %d) in %d slots", b.key(), b.weight(), table.size())
                    .isCloseTo(expected, org.assertj.core.data.Offset.offset(1.0));
        }
    }

    @Test
    void weightZeroBackendGetsNoSlotsButStaysListed() {
        MaglevTable table = MaglevTable.build(List.of(new Backend("a", 1), new Backend("b", 0), new Backend("c", 1)));
        assertThat(table.backends()).extracting(Backend::key).containsExactly("a", "b", "c");
        assertThat(Arrays.stream(table.slotsSnapshot()).filter(i -> i == 1).count())
                .as("slots owned by weight-0 backend b").isZero();
        assertThat(Arrays.stream(table.slotsSnapshot()).filter(i -> i < 0).count()).as("empty slots").isZero();
    }

    @ParameterizedTest
    @ValueSource(ints = {3, 10, 50})
    void removingOneBackendMovesAboutOneNthOfTheSlots(int n) {
        List<Backend> all = mixed(n);
        for (int minSize : new int[] {MaglevTable.MIN_SIZE, 65537}) {
            MaglevTable before = MaglevTable.build(all, minSize);
            for (int removed = 0; removed < n; removed++) {
                List<Backend> rest = new ArrayList<>(all);
                Backend gone = rest.remove(removed);
                // Passing the old size as the minimum is how callers keep the size across a change.
                MaglevTable after = MaglevTable.build(rest, before.size());
                assertThat(after.size()).as("table size must not change").isEqualTo(before.size());

                int moved = 0;
                for (int s = 0; s < before.size(); s++) {
                    String was = before.keyAt(s);
                    if (!was.equals(gone.key()) && !was.equals(after.keyAt(s))) {
                        moved++;
                    }
                }
                double movedShare = (double) moved / before.size();
                assertThat(movedShare)
                        .as("share of slots not owned by %s that moved when it left (n=%d, size=%d)",
                                gone.key(), n, before.size())
                        .isLessThanOrEqualTo(1.0 / n + 0.02);
                // and every slot the removed backend owned went to someone
                for (int s = 0; s < after.size(); s++) {
                    assertThat(after.keyAt(s)).isNotNull().isNotEqualTo(gone.key());
                }
            }
        }
    }

    @Test
    void inputOrderDoesNotMatter() {
        List<Backend> backends = mixed(20);
        MaglevTable reference = MaglevTable.build(backends, 65537);
        Random random = new Random(42);
        for (int round = 0; round < 5; round++) {
            List<Backend> shuffled = new ArrayList<>(backends);
            Collections.shuffle(shuffled, random);
            MaglevTable table = MaglevTable.build(shuffled, 65537);
            assertThat(table.backends()).isEqualTo(reference.backends());
            assertThat(table.slotsSnapshot()).as("slots for shuffled input #%d", round)
                    .isEqualTo(reference.slotsSnapshot());
        }
    }

    /** Values computed once and stored: if this fails, directors on different builds would disagree. */
    @Test
    void goldenFirstSlotsAreStableAcrossJvms() {
        MaglevTable table = MaglevTable.build(List.of(
                new Backend("10.0.0.3:80", 1), new Backend("10.0.0.1:80", 2), new Backend("10.0.0.2:80", 1)));
        assertThat(table.size()).isEqualTo(503);
        int[] first20 = Arrays.copyOf(table.slotsSnapshot(), 20);
        assertThat(first20).isEqualTo(GOLDEN);
        assertThat(MaglevTable.hash64("10.0.0.1:80".getBytes(StandardCharsets.UTF_8))).isEqualTo(GOLDEN_HASH);
    }

    private static final int[] GOLDEN = {0, 0, 0, 2, 2, 1, 0, 1, 1, 0, 0, 1, 1, 0, 0, 1, 2, 0, 0, 0};
    private static final long GOLDEN_HASH = 6834485282503893322L;

    @Test
    void emptyTableAnswersMinusOne() {
        for (List<Backend> none : List.of(List.<Backend>of(), List.of(new Backend("a", 0)))) {
            MaglevTable table = MaglevTable.build(none);
            assertThat(table.size()).isEqualTo(251);
            assertThat(table.slotsSnapshot()).containsOnly(-1);
            assertThat(table.lookup(12345L)).isEqualTo(-1);
            assertThat(table.lookup(Long.MIN_VALUE)).isEqualTo(-1);
            assertThat(table.lookupKey(7L)).isNull();
            assertThat(table.keyAt(0)).isNull();
        }
    }

    @Test
    void lookupUsesFloorModOfTheHash() {
        MaglevTable table = MaglevTable.build(mixed(3));
        long negative = -5L;
        assertThat(table.lookup(negative)).isEqualTo(table.backendIndexAt(table.size() - 5));
        assertThat(table.lookupKey(table.size() + 2L)).isEqualTo(table.keyAt(2));
    }

    @Test
    void sizeLadderStaysPutWhileBackendCountChangesALittle() {
        assertThat(MaglevTable.tableSize(1, 251)).isEqualTo(251);
        assertThat(MaglevTable.tableSize(3, 251)).isEqualTo(503);
        assertThat(MaglevTable.tableSize(9, 251)).isEqualTo(MaglevTable.tableSize(10, 251));
        assertThat(MaglevTable.tableSize(10, 65537)).isEqualTo(65537);
        assertThat(MaglevTable.tableSize(1000, 65537)).isGreaterThanOrEqualTo(100_000);
    }

    @Test
    void rejectsBadInputWithPreciseMessages() {
        assertThatThrownBy(() -> new Backend("a", -1)).hasMessage("weight: -1 (expected: >= 0)");
        assertThatThrownBy(() -> MaglevTable.build(List.of(new Backend("a", 1), new Backend("a", 2))))
                .hasMessageContaining("duplicate key \"a\"");
        assertThatThrownBy(() -> MaglevTable.build(List.of(), 1)).hasMessageStartingWith("minSize: 1");
    }
}
