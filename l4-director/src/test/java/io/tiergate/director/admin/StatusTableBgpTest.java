package io.tiergate.director.admin;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.tiergate.director.engine.BgpStatus;
import io.tiergate.director.engine.DirectorStatus;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/** The BGP part of {@code tiergate director status}, from the JSON the admin API serves (as the CLI reads it). */
class StatusTableBgpTest {

    @Test
    void sessionsAndEveryVipWithWhyItIsNotAnnounced() throws Exception {
        BgpStatus bgp = new BgpStatus("managed", 65010, "10.0.0.11",
                List.of(new BgpStatus.Session("10.0.0.1", 65000, "Established", "Up", 1),
                        new BgpStatus.Session("10.0.0.2", 65000, "Active", "Down", -1)),
                List.of(new BgpStatus.Vip("10.0.0.100/32", true, ""),
                        new BgpStatus.Vip("10.0.0.101/32", false, "no usable real server for this VIP")),
                false, 3, "");
        DirectorStatus st = new DirectorStatus("nft", "configured", 1, "", List.of(), null, bgp);
        DirectorStatus back = StatusTable.parse(new ObjectMapper().writeValueAsString(st));
        assertThat(StatusTable.list(back)).contains("""
                BGP AS65010 router id 10.0.0.11 (BIRD run by tiergate), 3 withdrawal(s)
                  neighbor 10.0.0.1                 AS65000      Established  BFD Up       1 route(s) exported
                  neighbor 10.0.0.2                 AS65000      Active       BFD Down     -
                  vip 10.0.0.100/32                announced
                  vip 10.0.0.101/32                WITHDRAWN: no usable real server for this VIP
                """);
    }

    @Test
    void drainedAndBirdErrorsAreSaidOnTheHeaderLine() {
        BgpStatus bgp = new BgpStatus("attached", 65010, "10.0.0.11", List.of(),
                List.of(new BgpStatus.Vip("10.0.0.100/32", false, "drained (director drain --all)")), true, 1,
                "bird 'configure': syntax error");
        String out = StatusTable.list(new DirectorStatus("nft", "configured", 1, "", List.of(), null, bgp));
        assertThat(out).contains("BGP AS65010 router id 10.0.0.11 (operator's BIRD), DRAINED (enable --all announces "
                + "again), 1 withdrawal(s)").contains("  BGP ERROR: bird 'configure': syntax error");
        assertThat(StatusTable.list(new DirectorStatus("nft", "configured", 1, "", List.of(), null)))
                .doesNotContain("BGP");
    }
}
