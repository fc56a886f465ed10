package io.tiergate.director.engine;

import java.util.List;

/**
 * The director's BGP side as {@code tiergate director status} and {@code GET /api/status} show it.
 *
 * @param mode      {@code managed} (tiergate runs BIRD) or {@code attached} (an operator-run BIRD)
 * @param drained   {@code drain --all} is in force: nothing is announced until {@code enable --all}
 * @param lastError the last failure talking to BIRD, empty when none
 */
public record BgpStatus(String mode, long localAs, String routerId, List<Session> sessions, List<Vip> vips,
                        boolean drained, long withdrawals, String lastError) {

    /**
     * One neighbor.
     *
     * @param state BIRD's BGP state (Idle, Connect, Active, OpenSent, OpenConfirm, Established) or {@code unknown}
     * @param bfd   the BFD session state (Up, Down, Init, AdminDown), {@code off} without BFD, {@code -} before one
     * @param exported routes we announce to this neighbor now (-1 unknown)
     */
    public record Session(String neighbor, long remoteAs, String state, String bfd, long exported) {
    }

    /** One VIP prefix: announced or not, and why not. */
    public record Vip(String prefix, boolean announced, String reason) {
    }
}
