package io.tiergate.proxy.request;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import static org.assertj.core.api.Assertions.assertThat;

/** The Host field text an Authority forwards: the normal form, whether or not the client's field already was. */
class AuthorityTest {

    @ParameterizedTest(name = "{0} -> {1}")
    @CsvSource(delimiter = '|', value = {
        "example.com|example.com",
        "example.com:8080|example.com:8080",
        "Example.COM:8080|example.com:8080",
        "example.com.|example.com",
        "example.com.:81|example.com:81",
        "example.com:080|example.com:80",
        "example.com:0|example.com:0",
        "example.com:|example.com",
        "[::1]:8443|[::1]:8443",
        "[FE80::1]|[fe80::1]",
    })
    void theTextIsTheNormalForm(String field, String text) {
        Authority a = Authority.parse(field, "Host");
        assertThat(a.text()).isEqualTo(text).isEqualTo(a.toString());
        assertThat(a).as("equal to one built from its parts").isEqualTo(new Authority(a.host(), a.port()));
    }
}
