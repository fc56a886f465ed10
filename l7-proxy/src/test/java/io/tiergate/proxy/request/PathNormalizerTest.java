package io.tiergate.proxy.request;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The path normalizer on paths with and without escapes: most paths have none and are their own normal form, so the
 * normalizer only starts a copy at the first '%'; a dot segment or a double slash before or after it must be seen
 * either way.
 */
class PathNormalizerTest {

    @Test
    void dotSegmentsAndDoubleSlashesAreResolvedWithOrWithoutAnEscape() {
        for (boolean merge : new boolean[] {true, false}) {
            assertThat(PathNormalizer.normalize("/a/b/c", merge)).isEqualTo("/a/b/c");
            assertThat(PathNormalizer.normalize("/a/./b/../c", merge)).isEqualTo("/a/c");
            assertThat(PathNormalizer.normalize("/%61/./b/../c", merge)).isEqualTo("/a/c");
            assertThat(PathNormalizer.normalize("/a/./b/../%63", merge)).isEqualTo("/a/c");
            assertThat(PathNormalizer.normalize("/a/%2e/b/%2E%2e/c", merge)).isEqualTo("/a/c");
        }
        assertThat(PathNormalizer.normalize("//a//b", true)).isEqualTo("/a/b");
        assertThat(PathNormalizer.normalize("/%61//b", true)).as("a double slash after an escape").isEqualTo("/a/b");
        assertThat(PathNormalizer.normalize("/a//%62", true)).as("a double slash before an escape").isEqualTo("/a/b");
        assertThat(PathNormalizer.normalize("/a//b", false)).isEqualTo("/a//b");
        assertThat(PathNormalizer.normalize("/a%2Fb%7e", true)).isEqualTo("/a%2Fb~");
    }

    @Test
    void theFirstBadCharacterIsTheOneReportedWhereverTheFirstEscapeIs() {
        assertThatThrownBy(() -> PathNormalizer.normalize("/a b/%41", true)).hasMessageContaining("a space");
        assertThatThrownBy(() -> PathNormalizer.normalize("/%41/a b", true)).hasMessageContaining("a space");
        assertThatThrownBy(() -> PathNormalizer.normalize("/a\\b", true)).hasMessageContaining("'\\'");
        assertThatThrownBy(() -> PathNormalizer.normalize("/a/%zz", true)).hasMessageContaining("offset 3");
        assertThatThrownBy(() -> PathNormalizer.normalize("/../a", true)).hasMessageContaining("above the root");
    }
}
