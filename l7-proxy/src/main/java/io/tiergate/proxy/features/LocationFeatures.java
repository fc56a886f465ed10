package io.tiergate.proxy.features;

import io.tiergate.proxy.cache.CacheRule;
import io.tiergate.proxy.compress.GzipConfig;
import io.tiergate.proxy.rewrite.HeaderRules;
import io.tiergate.proxy.rewrite.RewriteProgram;
import io.tiergate.proxy.staticfiles.StaticConfig;
import io.tiergate.shared.config.ConfigMap;

/**
 * What a location adds on top of forwarding: cache, rewrite/return, header rules, gzip, static files. Parsed from
 * the location's own mapping (keys {@code cache}, {@code rewrite}, {@code return}, {@code strip_prefix},
 * {@code add_prefix}, {@code headers}, {@code gzip}, {@code root}/{@code alias}/{@code index}); the location's owner
 * finishes that mapping. A location without any of them gets {@link #NONE} (the pipeline's fast path).
 * {@code staticFiles} is null unless the location answers from disk.
 */
public record LocationFeatures(CacheRule cache, RewriteProgram rewrite, HeaderRules requestHeaders,
                               HeaderRules responseHeaders, GzipConfig gzip, StaticConfig staticFiles) {
    public static final LocationFeatures NONE = new LocationFeatures(CacheRule.OFF, RewriteProgram.EMPTY,
            HeaderRules.NONE, HeaderRules.NONE, GzipConfig.OFF, null);

    public LocationFeatures(CacheRule cache, RewriteProgram rewrite, HeaderRules requestHeaders,
                            HeaderRules responseHeaders, GzipConfig gzip) {
        this(cache, rewrite, requestHeaders, responseHeaders, gzip, null);
    }

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
        StaticConfig files = StaticConfig.parse(location);
        if (cache == CacheRule.OFF && rewrite == RewriteProgram.EMPTY && reqH == HeaderRules.NONE
                && respH == HeaderRules.NONE && gzip == GzipConfig.OFF && files == null) {
            return NONE;
        }
        return new LocationFeatures(cache, rewrite, reqH, respH, gzip, files);
    }
}
