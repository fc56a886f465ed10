package io.tiergate.director.ha;

/**
 * The RFC 5798 §6.4 state machine as pure logic: inputs carry the time (nanoseconds from any monotonic clock),
 * outputs go to an {@link Output}, and the one timer the RFC needs at a time (Adver_Timer in Master,
 * Master_Down_Timer in Backup) is exposed as {@link #deadline()} for the caller to wait on. No threads, no
 * sockets, no clock reads: every rule is unit-testable with exact times.
 *
 * <p>Additions to the RFC, as keepalived has them: {@code FAULT} (tracked health failed with weight 0: send
 * priority 0 if master, then stay silent until health returns) and a preempt delay (after start, or after leaving
 * FAULT, a higher-priority backup waits this long before it lets a lower-priority master's adverts lapse).
 *
 * <p>Not thread-safe: one thread (the instance's advert loop) drives it.
 */
public final class VrrpStateMachine {
    /** What the machine asks the world to do. Called synchronously from the input methods. */
    public interface Output {
        /** Send one advertisement with this priority and the configured Advertisement_Interval. */
        void sendAdvert(int priority);

        /** The role changed; MASTER means "own the VIPs and announce them (gratuitous ARP)". */
        void stateChanged(VrrpState from, VrrpState to);
    }

    public static final long NONE = Long.MAX_VALUE;
    private static final long CENTISECOND_NANOS = 10_000_000L;

    private final Output out;
    private final int primaryAddress;
    private int basePriority;
    private int adverIntCs;
    private boolean preempt;
    private long preemptDelayNanos;
    private final int trackWeight;

    private VrrpState state = VrrpState.INIT;
    private int masterAdverIntCs;
    private long deadline = NONE;
    private long preemptAllowedAt;
    /** Set by the director while its health checks settle after FAULT: a master that exists is not preempted yet. */
    private boolean preemptHeld;
    private boolean healthy = true;
    private boolean trackedFault;
    private int trackedDelta;
    private boolean running;

    /**
     * @param primaryAddress our primary IPv4 address as an int (the tie breaker, §6.4.3)
     * @param trackWeight    0: unhealthy means FAULT; negative: unhealthy lowers the priority by that much
     */
    public VrrpStateMachine(Output out, int primaryAddress, int priority, int adverIntCs, boolean preempt,
                            long preemptDelayNanos, int trackWeight) {
        if (priority < 1 || priority > 255) {
            throw new IllegalArgumentException("priority: " + priority + " (expected: 1..255)");
        }
        if (adverIntCs < 1 || adverIntCs > VrrpPacket.MAX_ADVER_INT_CS) {
            throw new IllegalArgumentException("adverIntCs: " + adverIntCs + " (expected: 1..4095)");
        }
        if (trackWeight > 0 || trackWeight < -254) {
            throw new IllegalArgumentException("trackWeight: " + trackWeight + " (expected: -254..0)");
        }
        this.out = out;
        this.primaryAddress = primaryAddress;
        this.basePriority = priority;
        this.adverIntCs = adverIntCs;
        this.preempt = preempt;
        this.preemptDelayNanos = preemptDelayNanos;
        this.trackWeight = trackWeight;
        this.masterAdverIntCs = adverIntCs;
    }

    public VrrpState state() {
        return state;
    }

    /** When the caller must call {@link #onTimer}; {@link #NONE} when no timer runs. */
    public long deadline() {
        return deadline;
    }

    /**
     * The priority we advertise now: the configured one, lowered while unhealthy with a negative weight, plus the
     * tracked interfaces' and scripts' weights ({@link #setTracked}); a changed priority stays within 1–254 (only a
     * configured 255 is an address owner).
     */
    public int priority() {
        int p = basePriority + trackedDelta;
        if (!healthy && trackWeight != 0) {
            p += trackWeight;
        }
        return p == basePriority ? p : Math.max(1, Math.min(254, p));
    }

    private boolean faulted() {
        return (!healthy && trackWeight == 0) || trackedFault;
    }

    public int masterAdverIntCs() {
        return masterAdverIntCs;
    }

    /** Skew_Time = ((256 - Priority) × Master_Adver_Interval) / 256, in nanoseconds. */
    public long skewNanos() {
        return (256L - priority()) * masterAdverIntCs * CENTISECOND_NANOS / 256;
    }

    /** Master_Down_Interval = 3 × Master_Adver_Interval + Skew_Time, in nanoseconds. */
    public long masterDownNanos() {
        return 3L * masterAdverIntCs * CENTISECOND_NANOS + skewNanos();
    }

    private long adverNanos() {
        return adverIntCs * CENTISECOND_NANOS;
    }

    // ---- inputs -------------------------------------------------------------------------------------------

    /** Startup event (§6.4.1). */
    public void start(long now) {
        if (running) {
            return;
        }
        running = true;
        preemptAllowedAt = now + preemptDelayNanos;
        if (faulted()) {
            transition(VrrpState.FAULT);
            return;
        }
        initialize(now);
    }

    private void initialize(long now) {
        if (priority() == 255) {
            // The address owner takes over at once.
            out.sendAdvert(priority());
            deadline = now + adverNanos();
            transition(VrrpState.MASTER);
        } else {
            masterAdverIntCs = adverIntCs;
            deadline = now + masterDownNanos();
            transition(VrrpState.BACKUP);
        }
    }

    /** Shutdown event (§6.4.2, §6.4.3): a master says priority 0 so the backup takes over after Skew_Time. */
    public void stop(long now) {
        if (!running) {
            return;
        }
        running = false;
        if (state == VrrpState.MASTER) {
            out.sendAdvert(0);
        }
        deadline = NONE;
        transition(VrrpState.INIT);
    }

    /** Call when {@code now >= deadline()}; early calls are ignored. */
    public void onTimer(long now) {
        if (now < deadline) {
            return;
        }
        switch (state) {
            case BACKUP -> {
                // Master_Down_Timer fired (§6.4.2).
                out.sendAdvert(priority());
                deadline = now + adverNanos();
                transition(VrrpState.MASTER);
            }
            case MASTER -> {
                // Adver_Timer fired (§6.4.3).
                out.sendAdvert(priority());
                deadline = now + adverNanos();
            }
            default -> deadline = NONE;
        }
    }

    /**
     * A valid advert for our VRID (checksum, TTL, version already checked by the codec) from {@code src}, which
     * is not us.
     */
    public void onAdvert(long now, int src, int priority, int maxAdverIntCs) {
        onAdvert(now, Integer.compareUnsigned(src, primaryAddress) > 0, priority, maxAdverIntCs);
    }

    /**
     * The same with the tie breaker already decided: {@code higherAddress} when the sender's primary address is
     * greater than ours (an IPv6 instance compares 128-bit link-local addresses itself).
     */
    public void onAdvert(long now, boolean higherAddress, int priority, int maxAdverIntCs) {
        switch (state) {
            case BACKUP -> {
                if (priority == 0) {
                    // The master is leaving: take over after Skew_Time only.
                    deadline = now + skewNanos();
                } else if (!preempt || preemptHeld || priority >= priority() || now < preemptAllowedAt) {
                    masterAdverIntCs = maxAdverIntCs;
                    deadline = now + masterDownNanos();
                }
                // else: preempting a lower-priority master: discard, let Master_Down_Timer fire.
            }
            case MASTER -> {
                if (priority == 0) {
                    // Another router's master is stepping down: announce ourselves at once.
                    out.sendAdvert(priority());
                    deadline = now + adverNanos();
                } else if (priority > priority()
                        || (priority == priority() && higherAddress)) {
                    masterAdverIntCs = maxAdverIntCs;
                    deadline = now + masterDownNanos();
                    transition(VrrpState.BACKUP);
                }
                // else: a lower-priority router thinks it is master; our adverts will make it back down.
            }
            default -> {
                // INIT and FAULT ignore adverts.
            }
        }
    }

    /**
     * The director's own health (real servers, dataplane). With weight 0 an unhealthy instance goes to FAULT
     * (sending priority 0 first when master); with a negative weight it keeps running at a lower priority.
     */
    public void setHealthy(long now, boolean ok) {
        if (ok == healthy) {
            return;
        }
        boolean was = faulted();
        healthy = ok;
        faultChanged(now, was);
        // With a negative weight the new priority goes out with the next advert; a preempting backup then
        // discards our adverts and takes over after its Master_Down_Interval, as the RFC has it.
    }

    /**
     * What track_interface/track_script say: {@code fault} (a weightless tracked thing failed) and the sum of the
     * weights in effect. Like health: FAULT at once, a priority change with the next advert.
     */
    public void setTracked(long now, boolean fault, int delta) {
        boolean was = faulted();
        trackedFault = fault;
        trackedDelta = delta;
        faultChanged(now, was);
    }

    private void faultChanged(long now, boolean was) {
        boolean is = faulted();
        if (!running || is == was) {
            return;
        }
        if (is) {
            if (state == VrrpState.MASTER) {
                out.sendAdvert(0);
            }
            deadline = NONE;
            transition(VrrpState.FAULT);
        } else if (state == VrrpState.FAULT) {
            preemptAllowedAt = now + preemptDelayNanos;
            initialize(now);
        }
    }

    /**
     * A reloaded priority. It goes out with the next advert and nothing else happens at once: a master lowered
     * below a preempting backup loses mastership when that backup's Master_Down_Timer fires and its advert
     * arrives; a backup raised above the master discards the master's adverts from now on (with preempt) and
     * takes over when its Master_Down_Timer fires — the RFC's normal timers, no extra transition.
     */
    public void setPriority(int priority) {
        if (priority < 1 || priority > 255) {
            throw new IllegalArgumentException("priority: " + priority + " (expected: 1..255)");
        }
        basePriority = priority;
    }

    /** A reloaded Advertisement_Interval: a master sends at the new pace from its next advert on. */
    public void setAdvertInterval(long now, int cs) {
        if (cs < 1 || cs > VrrpPacket.MAX_ADVER_INT_CS) {
            throw new IllegalArgumentException("adverIntCs: " + cs + " (expected: 1..4095)");
        }
        adverIntCs = cs;
        if (state == VrrpState.MASTER) {
            // A long old interval must not delay the first advert at the new, shorter one.
            deadline = Math.min(deadline, now + adverNanos());
        }
    }

    /**
     * While held, a backup does not preempt a lower-priority master (it follows its adverts as with nopreempt), but
     * still takes over when no master advertises: holding never leaves a VIP without an owner.
     */
    public void holdPreemption(boolean hold) {
        preemptHeld = hold;
    }

    /** Reloaded preempt settings; a running preempt delay keeps its end (the delay counts from start or FAULT). */
    public void setPreempt(boolean preempt, long preemptDelayNanos) {
        this.preempt = preempt;
        this.preemptDelayNanos = preemptDelayNanos;
    }

    private void transition(VrrpState to) {
        VrrpState from = state;
        if (from == to) {
            return;
        }
        state = to;
        out.stateChanged(from, to);
    }
}
