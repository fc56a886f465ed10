package io.tiergate.proxy.features;

import io.tiergate.proxy.cache.CacheRule;
import io.tiergate.proxy.compress.GzipConfig;
import io.tiergate.proxy.rewrite.HeaderRules;
import io.tiergate.proxy.rewrite.RewriteProgram;
import io.tiergate.shared.config.ConfigMap;

/**
 * What a location adds on top of forwarding: cache, rewrite/return, header rules, gzip. Parsed from the location's
 * own mapping (keys {@code cache}, {@code rewrite}, {@code return}, {@code strip_prefix}, {@code add_prefix},
 * {@code headers}, {@code gzip}); the location's owner finishes that mapping.
 */
public record LocationFeatures(CacheRule cache, RewriteProgram rewrite, HeaderRules requestHeaders,
                               HeaderRules responseHeaders, GzipConfig gzip) {
    public static final LocationFeatures NONE = new LocationFeatures(CacheRule.OFF, RewriteProgram.EMPTY,
            HeaderRules.NONE, HeaderRules.NONE, GzipConfig.OFF);

    public static LocationFeatures parse(ConfigMap location) {
        CacheRule cache = CacheRule.parse(location, "cache");
        RewriteProgram rewrite = RewriteProgram.parse(location);
        HeaderRules reqH = HeaderRules.NONE;
        HeaderRules respH = HeaderRules.NONE;
        if (location.has("headers")) {
            ConfigMap h = location.mapOrEmpty("headers");
            reqH = h.map("request").map(HeaderRules::parse).orElse(HeaderRules.NONE);
            respH = h.map("response").map(HeaderRules::parse).orElse(HeaderRules.NONE);
            h.finish();
        }
        GzipConfig gzip = GzipConfig.parse(location, "gzip");
        return new LocationFeatures(cache, rewrite, reqH, respH, gzip);
    }
}
