package io.tiergate.director.ha;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/** One test per RFC 5798 rule (section numbers in the names' comments), driven with exact times. */
class VrrpStateMachineTest {
    private static final long MS = 1_000_000L;
    private static final int ME = ip(10, 0, 0, 2);
    private static final int LOWER_IP = ip(10, 0, 0, 1);
    private static final int HIGHER_IP = ip(10, 0, 0, 3);

    private static int ip(int a, int b, int c, int d) {
        return (a << 24) | (b << 16) | (c << 8) | d;
    }

    /** Records outputs as text so a failure shows the whole story. */
    static final class Recorder implements VrrpStateMachine.Output {
        final List<String> events = new ArrayList<>();

        @Override
        public void sendAdvert(int priority) {
            events.add("advert " + priority);
        }

        @Override
        public void stateChanged(VrrpState from, VrrpState to) {
            events.add(from + "->" + to);
        }

        List<String> take() {
            List<String> copy = List.copyOf(events);
            events.clear();
            return copy;
        }
    }

    private final Recorder out = new Recorder();

    private VrrpStateMachine machine(int priority, int adverIntCs, boolean preempt, long preemptDelayNanos) {
        return new VrrpStateMachine(out, ME, priority, adverIntCs, preempt, preemptDelayNanos, 0);
    }

    @Test
    void skewTimeAndMasterDownIntervalFollowTheRfcFormulas() {
        // §6.1: Skew_Time = ((256 - Priority) * Master_Adver_Interval) / 256; Master_Down = 3 * MAI + Skew.
        VrrpStateMachine m = machine(100, 100, true, 0);
        assertThat(m.skewNanos()).as("(256-100) * 1s / 256").isEqualTo(609_375_000L);
        assertThat(m.masterDownNanos()).isEqualTo(3_609_375_000L);
        VrrpStateMachine fast = machine(200, 5, true, 0);
        assertThat(fast.skewNanos()).as("(256-200) * 50ms / 256").isEqualTo(10_937_500L);
        assertThat(fast.masterDownNanos()).isEqualTo(160_937_500L);
    }

    @Test
    void startupWithoutOwnershipBecomesBackupAndArmsMasterDownTimer() {
        // §6.4.1: priority != 255 -> Master_Adver_Interval = Advertisement_Interval, Master_Down_Timer armed.
        VrrpStateMachine m = machine(100, 100, true, 0);
        m.start(1_000 * MS);
        assertThat(out.take()).containsExactly("INIT->BACKUP");
        assertThat(m.deadline()).isEqualTo(1_000 * MS + 3_609_375_000L);
    }

    @Test
    void addressOwnerWithPriority255BecomesMasterAtOnce() {
        // §6.4.1: priority 255 -> send an advert, become Master, Adver_Timer = Advertisement_Interval.
        VrrpStateMachine m = machine(255, 5, true, 0);
        m.start(0);
        assertThat(out.take()).containsExactly("advert 255", "INIT->MASTER");
        assertThat(m.deadline()).isEqualTo(50 * MS);
    }

    @Test
    void backupBecomesMasterWhenNoAdvertArrivesWithinMasterDownInterval() {
        // §6.4.2: Master_Down_Timer fires -> send advert, Adver_Timer, transition to Master.
        VrrpStateMachine m = machine(100, 5, true, 0);
        m.start(0);
        out.take();
        long down = m.deadline();
        m.onTimer(down - 1);
        assertThat(out.take()).as("an early wake-up changes nothing").isEmpty();
        m.onTimer(down);
        assertThat(out.take()).containsExactly("advert 100", "BACKUP->MASTER");
        assertThat(m.deadline()).isEqualTo(down + 50 * MS);
    }

    @Test
    void masterAdvertisesEveryAdvertisementInterval() {
        // §6.4.3: Adver_Timer fires -> send an advert, reset the timer.
        VrrpStateMachine m = machine(255, 5, true, 0);
        m.start(0);
        out.take();
        for (int i = 1; i <= 3; i++) {
            m.onTimer(i * 50 * MS);
            assertThat(m.deadline()).isEqualTo((i + 1) * 50 * MS);
        }
        assertThat(out.take()).containsExactly("advert 255", "advert 255", "advert 255");
    }

    @Test
    void backupLearnsMasterAdverIntervalFromTheMastersAdverts() {
        // §6.4.2: accepted advert -> Master_Adver_Interval = its Max Adver Int; recompute Master_Down_Interval.
        VrrpStateMachine m = machine(100, 100, true, 0); // we'd advertise at 1 s...
        m.start(0);
        m.onAdvert(10 * MS, HIGHER_IP, 150, 5); // ...but the master says 50 ms
        assertThat(m.masterAdverIntCs()).isEqualTo(5);
        long expectedDown = 150 * MS + (156L * 50 * MS) / 256;
        assertThat(m.deadline()).isEqualTo(10 * MS + expectedDown);
        assertThat(m.state()).isEqualTo(VrrpState.BACKUP);
    }

    @Test
    void priorityZeroAdvertMakesTheBackupTakeOverAfterSkewTimeOnly() {
        // §6.4.2: priority 0 -> Master_Down_Timer = Skew_Time.
        VrrpStateMachine m = machine(100, 5, true, 0);
        m.start(0);
        m.onAdvert(10 * MS, HIGHER_IP, 150, 5);
        m.onAdvert(20 * MS, HIGHER_IP, 0, 5);
        assertThat(m.deadline()).isEqualTo(20 * MS + (156L * 50 * MS) / 256);
        m.onTimer(m.deadline());
        assertThat(out.take()).containsExactly("INIT->BACKUP", "advert 100", "BACKUP->MASTER");
    }

    @Test
    void preemptingBackupIgnoresALowerPriorityMasterAndTakesOver() {
        // §6.4.2: Preempt_Mode true and advert priority < local -> discard; Master_Down_Timer runs out.
        VrrpStateMachine m = machine(200, 5, true, 0);
        m.start(0);
        long down = m.deadline();
        m.onAdvert(50 * MS, LOWER_IP, 100, 5);
        m.onAdvert(100 * MS, LOWER_IP, 100, 5);
        assertThat(m.deadline()).as("lower-priority adverts do not reset the timer").isEqualTo(down);
        m.onTimer(down);
        assertThat(m.state()).isEqualTo(VrrpState.MASTER);
    }

    @Test
    void nonPreemptingBackupStaysBackupBehindALowerPriorityMaster() {
        // §6.4.2: Preempt_Mode false -> every advert resets Master_Down_Timer.
        VrrpStateMachine m = machine(200, 5, false, 0);
        m.start(0);
        for (long t = 50; t <= 2_000; t += 50) {
            m.onAdvert(t * MS, LOWER_IP, 100, 5);
            m.onTimer(t * MS);
        }
        assertThat(m.state()).isEqualTo(VrrpState.BACKUP);
        assertThat(m.deadline()).isEqualTo(2_000 * MS + m.masterDownNanos());
    }

    @Test
    void preemptDelayPostponesPreemptionAfterStart() {
        VrrpStateMachine m = machine(200, 5, true, 1_000 * MS);
        m.start(0);
        for (long t = 50; t < 1_000; t += 50) {
            m.onAdvert(t * MS, LOWER_IP, 100, 5);
            m.onTimer(t * MS);
        }
        assertThat(m.state()).as("still inside the preempt delay").isEqualTo(VrrpState.BACKUP);
        long lastAccepted = 950 * MS;
        m.onAdvert(1_000 * MS, LOWER_IP, 100, 5); // delay over: discarded
        assertThat(m.deadline()).isEqualTo(lastAccepted + m.masterDownNanos());
        m.onTimer(m.deadline());
        assertThat(m.state()).isEqualTo(VrrpState.MASTER);
    }

    @Test
    void aHeldPreemptionFollowsTheLowerPriorityMasterButStillTakesOverWhenNoMasterAdvertises() {
        VrrpStateMachine m = machine(200, 5, true, 0);
        m.start(0);
        m.holdPreemption(true); // the director's checks are settling after FAULT
        for (long t = 50; t <= 1_000; t += 50) {
            m.onAdvert(t * MS, LOWER_IP, 100, 5);
            m.onTimer(t * MS);
        }
        assertThat(m.state()).as("held: the existing master keeps the VIP").isEqualTo(VrrpState.BACKUP);
        m.holdPreemption(false);
        m.onAdvert(1_050 * MS, LOWER_IP, 100, 5); // released: discarded from now on
        m.onTimer(m.deadline());
        assertThat(m.state()).as("released: preempts").isEqualTo(VrrpState.MASTER);

        VrrpStateMachine alone = machine(200, 5, true, 0);
        alone.start(0);
        alone.holdPreemption(true);
        alone.onTimer(alone.deadline());
        assertThat(alone.state()).as("no master advertising: holding never leaves the VIP without an owner")
                .isEqualTo(VrrpState.MASTER);
    }

    @Test
    void masterStepsDownForAHigherPriority() {
        // §6.4.3: advert priority > local -> cancel Adver_Timer, learn interval, arm Master_Down_Timer, Backup.
        VrrpStateMachine lower = machine(100, 5, true, 0);
        lower.start(0);
        lower.onTimer(lower.deadline());
        out.take();
        lower.onAdvert(500 * MS, LOWER_IP, 150, 10);
        assertThat(out.take()).containsExactly("MASTER->BACKUP");
        assertThat(lower.masterAdverIntCs()).isEqualTo(10);
        assertThat(lower.deadline()).isEqualTo(500 * MS + 300 * MS + (156L * 100 * MS) / 256);
    }

    @Test
    void equalPriorityIsBrokenByTheHigherPrimaryAddress() {
        // §6.4.3: same priority and sender's primary address greater than ours -> Backup; smaller -> discard.
        VrrpStateMachine m = machine(100, 5, true, 0);
        m.start(0);
        m.onTimer(m.deadline());
        out.take();
        long deadline = m.deadline();
        m.onAdvert(deadline - MS, LOWER_IP, 100, 5);
        assertThat(m.state()).isEqualTo(VrrpState.MASTER);
        assertThat(m.deadline()).as("discarded: Adver_Timer untouched").isEqualTo(deadline);
        m.onAdvert(deadline - MS, HIGHER_IP, 100, 5);
        assertThat(out.take()).containsExactly("MASTER->BACKUP");
    }

    @Test
    void masterIgnoresLowerPriorityAdverts() {
        VrrpStateMachine m = machine(200, 5, true, 0);
        m.start(0);
        m.onTimer(m.deadline());
        out.take();
        m.onAdvert(m.deadline() - MS, HIGHER_IP, 199, 5);
        assertThat(m.state()).isEqualTo(VrrpState.MASTER);
        assertThat(out.take()).isEmpty();
    }

    @Test
    void masterAnswersAPriorityZeroAdvertAtOnce() {
        // §6.4.3: priority 0 -> send an advert, reset Adver_Timer.
        VrrpStateMachine m = machine(255, 5, true, 0);
        m.start(0);
        out.take();
        m.onAdvert(20 * MS, LOWER_IP, 0, 5);
        assertThat(out.take()).containsExactly("advert 255");
        assertThat(m.deadline()).isEqualTo(70 * MS);
    }

    @Test
    void shutdownOfAMasterSendsPriorityZero() {
        // §6.4.3: Shutdown -> cancel Adver_Timer, send advert with priority 0, Initialize.
        VrrpStateMachine m = machine(255, 5, true, 0);
        m.start(0);
        out.take();
        m.stop(10 * MS);
        assertThat(out.take()).containsExactly("advert 0", "MASTER->INIT");
        assertThat(m.deadline()).isEqualTo(VrrpStateMachine.NONE);

        VrrpStateMachine b = machine(100, 5, true, 0);
        b.start(0);
        out.take();
        b.stop(10 * MS);
        assertThat(out.take()).as("a backup leaves silently").containsExactly("BACKUP->INIT");
    }

    @Test
    void unhealthyWithWeightZeroGoesToFaultAfterPriorityZeroAndRecoversAsBackup() {
        VrrpStateMachine m = machine(255, 5, true, 0);
        m.start(0);
        out.take();
        m.setHealthy(10 * MS, false);
        assertThat(out.take()).containsExactly("advert 0", "MASTER->FAULT");
        assertThat(m.deadline()).isEqualTo(VrrpStateMachine.NONE);
        m.onAdvert(20 * MS, LOWER_IP, 100, 5);
        m.onTimer(1_000 * MS);
        assertThat(out.take()).as("FAULT is silent and deaf").isEmpty();

        VrrpStateMachine b = machine(150, 5, true, 0);
        b.start(0);
        b.setHealthy(MS, false);
        b.setHealthy(2 * MS, true);
        assertThat(out.take()).containsExactly("INIT->BACKUP", "BACKUP->FAULT", "FAULT->BACKUP");
        assertThat(b.deadline()).isEqualTo(2 * MS + b.masterDownNanos());
    }

    @Test
    void unhealthyWithNegativeWeightAdvertisesALowerPriority() {
        VrrpStateMachine m = new VrrpStateMachine(out, ME, 200, 5, true, 0, -150);
        m.start(0);
        m.onTimer(m.deadline());
        m.setHealthy(200 * MS, false);
        assertThat(m.priority()).isEqualTo(50);
        m.onTimer(m.deadline());
        assertThat(out.take()).containsExactly("INIT->BACKUP", "advert 200", "BACKUP->MASTER", "advert 50");
        // a healthy peer at 100 now wins
        m.onAdvert(m.deadline() - MS, LOWER_IP, 100, 5);
        assertThat(m.state()).isEqualTo(VrrpState.BACKUP);
    }

    @Test
    void startingUnhealthyGoesStraightToFault() {
        VrrpStateMachine m = machine(100, 5, true, 0);
        m.setHealthy(0, false);
        m.start(0);
        assertThat(out.take()).containsExactly("INIT->FAULT");
    }

    @Test
    void aReloadedLowerPriorityGoesOutWithTheNextAdvertAndAHigherMasterMakesUsBackup() {
        VrrpStateMachine m = machine(200, 5, true, 0);
        m.start(0);
        m.onTimer(m.deadline()); // Master_Down_Timer: we are master
        out.take();
        m.setPriority(50);
        assertThat(out.take()).as("no advert or transition at the moment of the change").isEmpty();
        long next = m.deadline();
        m.onTimer(next);
        assertThat(out.take()).as("the next advert carries the new priority").containsExactly("advert 50");
        m.onAdvert(next + MS, LOWER_IP, 100, 5);
        assertThat(out.take()).as("the preempting backup's advert (100 > 50) makes us backup")
                .containsExactly("MASTER->BACKUP");
    }

    @Test
    void aBackupRaisedAboveTheMasterTakesOverWhenItsMasterDownTimerFires() {
        VrrpStateMachine m = machine(50, 5, true, 0);
        m.start(0);
        m.onAdvert(10 * MS, HIGHER_IP, 100, 5);
        long downAt = m.deadline();
        m.setPriority(150);
        m.onAdvert(60 * MS, HIGHER_IP, 100, 5);
        assertThat(m.deadline()).as("the lower master's advert no longer resets Master_Down_Timer").isEqualTo(downAt);
        m.onTimer(downAt);
        assertThat(out.take()).containsExactly("INIT->BACKUP", "advert 150", "BACKUP->MASTER");
    }

    @Test
    void aShorterReloadedAdvertIntervalIsUsedFromTheNextAdvert() {
        VrrpStateMachine m = machine(255, 100, true, 0);
        m.start(0);
        assertThat(m.deadline()).isEqualTo(1_000 * MS);
        m.setAdvertInterval(200 * MS, 5);
        assertThat(m.deadline()).as("not the old 1 s interval").isEqualTo(250 * MS);
        m.onTimer(250 * MS);
        assertThat(m.deadline()).isEqualTo(300 * MS);
    }

    @Test
    void trackedWeightsAddUpStayWithin1To254AndAFailedWeightlessThingIsFault() {
        VrrpStateMachine m = machine(200, 5, true, 0);
        m.start(0);
        m.setTracked(MS, false, 30);
        assertThat(m.priority()).as("a passing +30 script").isEqualTo(230);
        m.setTracked(2 * MS, false, 80);
        assertThat(m.priority()).as("capped: 255 only for a configured owner").isEqualTo(254);
        m.setTracked(3 * MS, false, -250);
        assertThat(m.priority()).isEqualTo(1);
        assertThat(out.take()).containsExactly("INIT->BACKUP");

        m.setTracked(4 * MS, true, 0);
        m.setTracked(5 * MS, true, -20); // still faulted: no new transition
        assertThat(out.take()).containsExactly("BACKUP->FAULT");
        m.setTracked(6 * MS, false, 0);
        assertThat(out.take()).containsExactly("FAULT->BACKUP");
        assertThat(m.priority()).isEqualTo(200);
    }

    @Test
    void aTrackedFaultAndTheDirectorsHealthAreIndependent() {
        VrrpStateMachine m = machine(255, 5, true, 0);
        m.start(0);
        out.take();
        m.setTracked(MS, true, 0);
        assertThat(out.take()).containsExactly("advert 0", "MASTER->FAULT");
        m.setHealthy(2 * MS, false);
        m.setTracked(3 * MS, false, 0);
        assertThat(out.take()).as("still unhealthy: stays FAULT").isEmpty();
        m.setHealthy(4 * MS, true);
        assertThat(out.take()).containsExactly("advert 255", "FAULT->MASTER");
    }
}
