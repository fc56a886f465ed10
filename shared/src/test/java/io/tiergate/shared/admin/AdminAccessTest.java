package io.tiergate.shared.admin;

import io.tiergate.shared.config.ConfigMap;
import io.tiergate.shared.config.Problems;
import io.tiergate.shared.config.YamlLoader;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Base64;

import static org.assertj.core.api.Assertions.assertThat;

class AdminAccessTest {
    @TempDir
    Path dir;

    private AdminAccess parse(String yaml, Problems problems) {
        ConfigMap section = ConfigMap.of(YamlLoader.parse("test.yaml", yaml), problems);
        AdminAccess a = AdminAccess.parse(section);
        section.finish();
        return a;
    }

    private Path file(String name, String content) throws Exception {
        Path f = dir.resolve(name);
        Files.writeString(f, content);
        return f;
    }

    @Test
    void noSectionMeansOpenPlainHttp() {
        Problems p = new Problems();
        assertThat(parse("{}\n", p)).isEqualTo(AdminAccess.OPEN);
        assertThat(p.isEmpty()).isTrue();
        assertThat(AdminAccess.OPEN.check((String) null)).isEqualTo(AdminAccess.Verdict.OPEN);
    }

    @Test
    void tokenAndBasicAuthAreReadFromFilesAndCheckedExactly() throws Exception {
        Path token = file("t", "0123456789abcdef0123\n");
        Path pw = file("p", "hunter2-but-longer\n");
        Problems p = new Problems();
        AdminAccess a = parse("""
                admin_auth:
                  token_file: %s
                  basic_auth: {user: ops, password_file: %s}
                  protect_reads: true
                """.formatted(token, pw), p);
        assertThat(p.isEmpty()).as(p.format()).isTrue();
        assertThat(a.protectReads()).isTrue();
        assertThat(a.check("Bearer 0123456789abcdef0123")).isEqualTo(AdminAccess.Verdict.AUTHENTICATED);
        assertThat(a.check("bearer 0123456789abcdef0123")).as("scheme is case-insensitive").isEqualTo(AdminAccess.Verdict.AUTHENTICATED);
        assertThat(a.check("Bearer 0123456789abcdef012")).isEqualTo(AdminAccess.Verdict.WRONG);
        assertThat(a.check("Bearer ")).isEqualTo(AdminAccess.Verdict.WRONG);
        assertThat(a.check((String) null)).isEqualTo(AdminAccess.Verdict.MISSING);
        assertThat(a.check(basic("ops:hunter2-but-longer"))).isEqualTo(AdminAccess.Verdict.AUTHENTICATED);
        assertThat(a.check(basic("ops:hunter2"))).isEqualTo(AdminAccess.Verdict.WRONG);
        assertThat(a.check(basic("root:hunter2-but-longer"))).isEqualTo(AdminAccess.Verdict.WRONG);
        assertThat(a.check("Basic %%%not-base64")).isEqualTo(AdminAccess.Verdict.WRONG);
        assertThat(a.check("Digest x")).isEqualTo(AdminAccess.Verdict.WRONG);
        assertThat(a.toString()).as("secrets never in toString").doesNotContain("0123456789").doesNotContain("hunter2");
    }

    private static String basic(String pair) {
        return "Basic " + Base64.getEncoder().encodeToString(pair.getBytes(StandardCharsets.UTF_8));
    }

    @Test
    void aTypoNeverOpensTheEndpointItIsAConfigProblem() throws Exception {
        Path shortToken = file("short", "abc\n");
        Path empty = file("empty", "\n");
        Problems p = new Problems();
        parse("""
                admin_auth:
                  token_file: %s/missing
                  protect_reads: true
                admin_tls: {cert: /nonexistent/cert.pem}
                """.formatted(dir), p);
        parse("admin_auth: {token_file: %s}\n".formatted(shortToken), p);
        parse("admin_auth: {basic_auth: {user: 'a:b', password_file: %s}}\n".formatted(empty), p);
        parse("admin_auth: {protect_reads: true, tokn_file: x}\n", p);
        String all = p.format();
        assertThat(all).contains("admin_auth.token_file").contains("cannot read");
        assertThat(all).contains("admin_tls.cert").contains("admin_tls.key");
        assertThat(all).contains("holds a token of 3 characters");
        assertThat(all).contains("contains ':'").contains("is empty");
        assertThat(all).contains("protect_reads: needs credentials").contains("tokn_file");
    }
}
