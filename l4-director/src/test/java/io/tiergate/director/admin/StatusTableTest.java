package io.tiergate.director.admin;

import io.tiergate.director.engine.DirectorStatus;
import io.tiergate.director.engine.ServiceStatus;
import io.tiergate.director.model.Protocol;
import io.tiergate.director.model.ServiceKey;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

class StatusTableTest {
    static ServiceStatus.RealServerStatus rs(String id, int w, String health, long conns, long bytes) {
        return new ServiceStatus.RealServerStatus(id, id, w, w, health, false, true, false, 2, 0, conns, -1, -1, bytes,
                bytes * 10);
    }

    static DirectorStatus status(long conns) {
        ServiceStatus web = new ServiceStatus("web", ServiceKey.of(Protocol.TCP, "10.0.0.100", 80), "wrr", "dr", 1,
                true, false, "", List.of(rs("10.0.0.11:80", 1, "up", conns, 1000), rs("10.0.0.12:80", 0, "down", 0, 0)));
        return new DirectorStatus("userspace", "configured", 3, "", List.of(web), null);
    }

    @Test
    void listLooksLikeIpvsadm() {
        assertThat(StatusTable.list(status(5))).isEqualTo("""
                Tiergate director, dataplane userspace (configured)
                Prot LocalAddress:Port Scheduler Flags
                  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn  Health
                TCP  10.0.0.100:80 wrr  (web)
                  -> 10.0.0.11:80                 Route   1      2          0          up
                  -> 10.0.0.12:80                 Route   0      2          0          down
                """);
    }

    @Test
    void statsShowDashesForFiguresTheDataplaneLacks() {
        String out = StatusTable.stats(status(5));
        assertThat(out).contains("TCP  10.0.0.100:80                       5        -        -      1000     10000")
                .contains("  -> 10.0.0.11:80                        5        -        -      1000     10000");
    }

    @Test
    void rateIsTheDifferenceOverTime() {
        String out = StatusTable.rate(status(5), status(25), 2.0);
        assertThat(out).contains("  -> 10.0.0.11:80                       10        -        -         0         0");
    }

    @Test
    void jsonRoundTrips() throws Exception {
        String json = DirectorAdmin.JSON.writeValueAsString(status(5));
        assertThat(StatusTable.parse(json)).isEqualTo(status(5));
    }
}
