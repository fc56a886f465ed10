package io.tiergate.proxy.cache;

import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/** The cache against RFC 9111 (plus RFC 5861, 9211, 9213), one nested class per section. */
class Rfc9111CacheTest {
    static Vertx vertx;
    CacheFixture c;

    @BeforeAll
    static void start() {
        vertx = io.tiergate.shared.runtime.Runtimes.vertx();
    }

    @AfterAll
    static void stop() {
        CacheFixture.await(vertx.close());
    }

    @BeforeEach
    void fixture() {
        c = new CacheFixture(vertx);
    }

    private void assertHit(CacheResponse r) {
        assertThat(r.headers().get("Cache-Status")).as("expected a hit").contains("; hit");
    }

    private void assertForwarded(CacheResponse r) {
        assertThat(r.headers().get("Cache-Status")).as("expected the request to go upstream").contains("fwd=");
    }

    @Nested
    class Section3Storing {
        @Test
        void aFreshGetResponseIsStoredAndReused() {
            c.respond(200, "hello", "Cache-Control", "max-age=60");
            assertThat(c.get("/a").body().toString()).isEqualTo("hello");
            CacheResponse second = c.get("/a");
            assertThat(second.body().toString()).isEqualTo("hello");
            assertHit(second);
            assertThat(c.fetches()).as("origin fetches").isEqualTo(1);
        }

        @Test
        void noStoreIsNeitherStoredNorReused() {
            c.respond(200, "1", "Cache-Control", "max-age=60, no-store").respond(200, "2");
            c.get("/a");
            assertThat(c.get("/a").body().toString()).isEqualTo("2");
        }

        @Test
        void privateIsNotStoredByASharedCache() {
            c.respond(200, "1", "Cache-Control", "private, max-age=60").respond(200, "2");
            assertThat(c.get("/a").headers().get("Cache-Status")).contains("detail=private");
            assertThat(c.get("/a").body().toString()).isEqualTo("2");
        }

        @Test
        void postResponsesAreNotStored() {
            c.respond(200, "1", "Cache-Control", "max-age=60").respond(200, "2");
            c.request("POST", "/a");
            assertThat(c.get("/a").body().toString()).isEqualTo("2");
        }

        @Test
        void statusesWithoutExplicitFreshnessAreStoredOnlyWhenHeuristicallyCacheable() {
            c.respond(302, "r1", "Location", "/x").respond(302, "r2", "Location", "/x");
            c.get("/redirect");
            assertThat(c.get("/redirect").body().toString()).as("302 without freshness is not stored").isEqualTo("r2");
            c.respond(302, "r3", "Location", "/x", "Cache-Control", "max-age=60");
            c.get("/r2");
            assertHit(c.get("/r2"));
        }

        @Test
        void fieldsNamedInConnectionAndHopByHopFieldsAreNotStored() {
            c.respond(200, "x", "Cache-Control", "max-age=60", "Connection", "X-Hop, close", "X-Hop", "secret",
                    "Keep-Alive", "timeout=5", "X-Kept", "yes");
            c.get("/a");
            CacheResponse hit = c.get("/a");
            assertHit(hit);
            assertThat(hit.headers().contains("X-Hop")).as("X-Hop was named in Connection").isFalse();
            assertThat(hit.headers().contains("Keep-Alive")).isFalse();
            assertThat(hit.headers().contains("Connection")).isFalse();
            assertThat(hit.headers().get("X-Kept")).isEqualTo("yes");
        }

        @Test
        void mustUnderstandStoresUnderstoodStatusesDespiteNoStore() {
            c.respond(200, "1", "Cache-Control", "must-understand, no-store, max-age=60");
            c.get("/a");
            assertHit(c.get("/a"));
            c.respond(299, "u", "Cache-Control", "must-understand, max-age=60").respond(299, "u2");
            c.get("/b");
            assertThat(c.get("/b").body().toString()).as("status 299 is not understood").isEqualTo("u2");
        }

        @Test
        void responsesLargerThanTheObjectCapAreNotStored() {
            CacheFixture small = new CacheFixture(vertx, new CacheConfig(1 << 20, 10, "tiergate",
                    List.of("CDN-Cache-Control"), Duration.ofSeconds(1), 0.1, Duration.ofDays(1), 4));
            small.respond(200, "more than ten bytes", "Cache-Control", "max-age=60").respond(200, "again");
            assertThat(small.get("/big").headers().get("Cache-Status")).contains("detail=too-large");
            assertThat(small.get("/big").body().toString()).isEqualTo("again");
        }

        @Test
        void aMissingDateIsAddedWhenStoring() {
            c.script.add(req -> {
                CacheResponse r = c.response(200, "x", "Cache-Control", "max-age=60");
                r.headers().remove("Date");
                return Future.succeededFuture(r);
            });
            assertThat(c.get("/a").headers().get("Date")).isEqualTo(HttpDates.format(c.now));
        }
    }

    @Nested
    class Section3_5Authorization {
        @Test
        void responsesToAuthorizedRequestsAreNotStoredByDefault() {
            c.respond(200, "alice", "Cache-Control", "max-age=60").respond(200, "bob");
            c.get("/me", "Authorization", "Basic YWxpY2U6eA==");
            assertThat(c.get("/me", "Authorization", "Basic Ym9iOng=").body().toString()).isEqualTo("bob");
        }

        @Test
        void publicSMaxageOrMustRevalidateAllowStoring() {
            for (String cc : List.of("public, max-age=60", "s-maxage=60", "must-revalidate, max-age=60")) {
                CacheFixture f = new CacheFixture(vertx);
                f.respond(200, "shared", "Cache-Control", cc);
                f.get("/doc", "Authorization", "Bearer t");
                assertThat(f.get("/doc", "Authorization", "Bearer t").headers().get("Cache-Status"))
                        .as("stored with Cache-Control: %s", cc).contains("; hit");
            }
        }
    }

    @Nested
    class Section4_2Freshness {
        @Test
        void maxAgeExpires() {
            c.respond(200, "1", "Cache-Control", "max-age=10").respond(200, "2", "Cache-Control", "max-age=10");
            c.get("/a");
            c.advance(Duration.ofSeconds(9));
            assertHit(c.get("/a"));
            c.advance(Duration.ofSeconds(2));
            assertThat(c.get("/a").body().toString()).isEqualTo("2");
        }

        @Test
        void sMaxageWinsOverMaxAgeForASharedCache() {
            c.respond(200, "1", "Cache-Control", "max-age=1000, s-maxage=5").respond(200, "2");
            c.get("/a");
            c.advance(Duration.ofSeconds(6));
            assertThat(c.get("/a").body().toString()).isEqualTo("2");
        }

        @Test
        void maxAgeWinsOverExpires() {
            c.respond(200, "1", "Cache-Control", "max-age=100", "Expires", HttpDates.format(c.now - 1000));
            c.get("/a");
            c.advance(Duration.ofSeconds(50));
            assertHit(c.get("/a"));
        }

        @Test
        void expiresIsMeasuredAgainstDateNotTheLocalClock() {
            // The origin's clock is an hour ahead: by our clock Expires is an hour away, but Expires − Date is 2 min.
            long originNow = c.now + 3_600_000;
            c.respond(200, "1", "Date", HttpDates.format(originNow), "Expires", HttpDates.format(originNow + 120_000));
            c.get("/a");
            c.advance(Duration.ofSeconds(60));
            assertHit(c.get("/a"));
            c.advance(Duration.ofSeconds(61));
            c.respond(200, "2");
            assertThat(c.get("/a").body().toString()).isEqualTo("2");
        }

        @Test
        void anInvalidExpiresMeansAlreadyExpired() {
            c.respond(200, "1", "Expires", "0", "ETag", "\"e\"").respond(200, "2");
            c.get("/a");
            assertThat(c.get("/a").body().toString()).isEqualTo("2");
        }

        @Test
        void heuristicFreshnessIsTenPercentOfTheTimeSinceLastModified() {
            c.respond(200, "1", "Last-Modified", HttpDates.format(c.now - 1000_000)); // → 100 s fresh
            c.get("/a");
            c.advance(Duration.ofSeconds(99));
            assertHit(c.get("/a"));
            c.advance(Duration.ofSeconds(2));
            c.respond(200, "2");
            assertThat(c.get("/a").body().toString()).isEqualTo("2");
        }

        @Test
        void ruleDefaultTtlAppliesOnlyWithoutExplicitFreshnessAndMaxTtlCaps() {
            c.rule = new CacheRule(true, CacheRule.DEFAULT_KEY, Duration.ofSeconds(30), Duration.ofSeconds(60),
                    Duration.ZERO);
            c.respond(200, "d");
            c.get("/default");
            c.advance(Duration.ofSeconds(29));
            assertHit(c.get("/default"));
            c.respond(200, "long", "Cache-Control", "max-age=3600");
            c.get("/capped");
            c.advance(Duration.ofSeconds(61));
            c.respond(200, "refetched", "Cache-Control", "max-age=3600");
            assertThat(c.get("/capped").body().toString()).isEqualTo("refetched");
        }
    }

    @Nested
    class Section4_2_3Age {
        @Test
        void ageIsSentAndGrowsWithResidentTime() {
            c.respond(200, "1", "Cache-Control", "max-age=600");
            c.get("/a");
            c.advance(Duration.ofSeconds(7));
            assertThat(c.get("/a").headers().get("Age")).isEqualTo("7");
        }

        @Test
        void incomingAgeIsAddedAndCountsAgainstFreshness() {
            c.respond(200, "1", "Cache-Control", "max-age=600", "Age", "30");
            c.get("/a");
            c.advance(Duration.ofSeconds(5));
            assertThat(c.get("/a").headers().get("Age")).isEqualTo("35");
            c.respond(200, "old", "Cache-Control", "max-age=3600", "Age", "7200").respond(200, "new");
            c.get("/b");
            assertThat(c.get("/b").body().toString()).as("Age beyond max-age is stale").isEqualTo("new");
        }

        @Test
        void apparentAgeFromAnOldDateCounts() {
            c.respond(200, "1", "Cache-Control", "max-age=600", "Date", HttpDates.format(c.now - 100_000));
            c.get("/a");
            assertThat(c.get("/a").headers().get("Age")).isEqualTo("100");
        }

        @Test
        void responseDelayIsAddedToTheIncomingAge() {
            c.script.add(req -> {
                CacheResponse r = c.response(200, "slow", "Cache-Control", "max-age=600", "Age", "10");
                c.advance(Duration.ofSeconds(3)); // the response took 3 s to arrive
                return Future.succeededFuture(r);
            });
            c.get("/a");
            assertThat(c.get("/a").headers().get("Age")).isEqualTo("13");
        }

        @Test
        void fractionalAgeKeepsItsIntegerPartAndGarbageIsIgnored() {
            c.respond(200, "1", "Cache-Control", "max-age=3600", "Age", "7200.0").respond(200, "2");
            c.get("/f");
            assertThat(c.get("/f").body().toString()).isEqualTo("2");
            c.respond(200, "1", "Cache-Control", "max-age=3600", "Age", "abc");
            c.get("/g");
            assertHit(c.get("/g"));
        }
    }

    @Nested
    class Section4_3Validation {
        @Test
        void aStaleResponseIsRevalidatedWithItsETagAndA304UpdatesStoredHeaders() {
            c.respond(200, "body", "Cache-Control", "max-age=1", "ETag", "\"v1\"", "X-Version", "1");
            c.get("/a");
            c.advance(Duration.ofSeconds(2));
            c.respond(304, "", "Cache-Control", "max-age=100", "ETag", "\"v1\"", "X-Version", "2");
            CacheResponse r = c.get("/a");
            assertThat(c.last().headers().get("If-None-Match")).isEqualTo("\"v1\"");
            assertThat(r.status()).isEqualTo(200);
            assertThat(r.body().toString()).isEqualTo("body");
            assertThat(r.headers().get("X-Version")).as("updated by the 304").isEqualTo("2");
            assertThat(r.headers().get("Cache-Status")).contains("fwd=stale; fwd-status=304");
            c.advance(Duration.ofSeconds(50));
            CacheResponse later = c.get("/a");
            assertHit(later);
            assertThat(later.headers().get("X-Version")).isEqualTo("2");
            assertThat(c.fetches()).isEqualTo(2);
        }

        @Test
        void lastModifiedBecomesIfModifiedSince() {
            String lm = HttpDates.format(c.now - 10_000);
            c.respond(200, "b", "Cache-Control", "max-age=1", "Last-Modified", lm);
            c.get("/a");
            c.advance(Duration.ofSeconds(2));
            c.respond(304, "", "Cache-Control", "max-age=1");
            c.get("/a");
            assertThat(c.last().headers().get("If-Modified-Since")).isEqualTo(lm);
        }

        @Test
        void aFull200DuringRevalidationReplacesTheStoredResponse() {
            c.respond(200, "old", "Cache-Control", "max-age=1", "ETag", "\"1\"");
            c.get("/a");
            c.advance(Duration.ofSeconds(2));
            c.respond(200, "new", "Cache-Control", "max-age=60", "ETag", "\"2\"");
            assertThat(c.get("/a").body().toString()).isEqualTo("new");
            assertThat(c.get("/a").body().toString()).isEqualTo("new");
            assertThat(c.fetches()).isEqualTo(2);
        }

        @Test
        void clientConditionalsAreAnsweredFromTheStore() {
            c.respond(200, "b", "Cache-Control", "max-age=60", "ETag", "W/\"x\"",
                    "Last-Modified", HttpDates.format(c.now - 5000));
            c.get("/a");
            assertThat(c.get("/a", "If-None-Match", "\"x\"").status()).isEqualTo(304);
            assertThat(c.get("/a", "If-None-Match", "\"y\"").status()).isEqualTo(200);
            assertThat(c.get("/a", "If-Modified-Since", HttpDates.format(c.now)).status()).isEqualTo(304);
            assertThat(c.fetches()).isEqualTo(1);
        }

        @Test
        void clientConditionalsAreNotForwardedOnAMissSoTheFullResponseCanBeStored() {
            c.respond(200, "b", "Cache-Control", "max-age=60", "ETag", "\"x\"");
            CacheResponse r = c.get("/a", "If-None-Match", "\"x\"");
            assertThat(c.last().headers().contains("If-None-Match")).isFalse();
            assertThat(r.status()).isEqualTo(304);
            assertThat(c.get("/a").body().toString()).isEqualTo("b");
        }
    }

    @Nested
    class Section4_4Invalidation {
        @Test
        void successfulUnsafeMethodsInvalidateTheTargetUri() {
            for (String m : List.of("POST", "PUT", "DELETE", "PATCH")) {
                CacheFixture f = new CacheFixture(vertx);
                f.respond(200, "v1", "Cache-Control", "max-age=600").respond(204, "").respond(200, "v2");
                f.get("/doc");
                f.request(m, "/doc");
                assertThat(f.get("/doc").body().toString()).as("after %s", m).isEqualTo("v2");
            }
        }

        @Test
        void locationAndContentLocationOfTheSameOriginAreInvalidated() {
            c.respond(200, "l", "Cache-Control", "max-age=600").respond(200, "cl", "Cache-Control", "max-age=600")
                    .respond(200, "x", "Cache-Control", "max-age=600");
            c.get("/loc");
            c.get("/cl?q=1");
            c.get("/other");
            c.respond(201, "", "Location", "http://example.com/loc", "Content-Location", "cl?q=1");
            c.request("POST", "/items");
            c.respond(200, "l2").respond(200, "cl2");
            assertThat(c.get("/loc").body().toString()).isEqualTo("l2");
            assertThat(c.get("/cl?q=1").body().toString()).isEqualTo("cl2");
            assertHit(c.get("/other"));
        }

        @Test
        void otherOriginsAndFailedRequestsDoNotInvalidate() {
            c.respond(200, "v1", "Cache-Control", "max-age=600");
            c.get("/doc");
            c.respond(201, "", "Location", "http://evil.example/doc");
            c.request("POST", "/x");
            c.respond(500, "boom");
            c.request("POST", "/doc");
            assertHit(c.get("/doc"));
        }
    }

    @Nested
    class Section5_2RequestDirectives {
        @BeforeEach
        void stored() {
            c.respond(200, "stored", "Cache-Control", "max-age=100", "ETag", "\"s\"");
            c.get("/a");
            c.advance(Duration.ofSeconds(50));
        }

        @Test
        void maxAgeRejectsOlderResponses() {
            c.respond(200, "fresh", "Cache-Control", "max-age=100");
            CacheResponse r = c.get("/a", "Cache-Control", "max-age=10");
            assertThat(r.body().toString()).isEqualTo("fresh");
            assertThat(r.headers().get("Cache-Status")).contains("fwd=request");
            assertThat(c.last().headers().get("If-None-Match")).as("revalidated with the stored ETag").isEqualTo("\"s\"");
        }

        @Test
        void maxStaleAcceptsStaleResponsesWithinTheLimit() {
            c.advance(Duration.ofSeconds(60)); // 10 s stale
            assertHit(c.get("/a", "Cache-Control", "max-stale=20"));
            assertHit(c.get("/a", "Cache-Control", "max-stale"));
            c.respond(200, "fresh");
            assertThat(c.get("/a", "Cache-Control", "max-stale=5").body().toString()).isEqualTo("fresh");
        }

        @Test
        void minFreshRequiresRemainingFreshness() {
            assertHit(c.get("/a", "Cache-Control", "min-fresh=40"));
            c.respond(200, "fresh", "Cache-Control", "max-age=100");
            assertThat(c.get("/a", "Cache-Control", "min-fresh=60").body().toString()).isEqualTo("fresh");
        }

        @Test
        void noCacheAndPragmaForceValidation() {
            c.respond(304, "", "ETag", "\"s\"");
            assertForwarded(c.get("/a", "Cache-Control", "no-cache"));
            c.respond(304, "", "ETag", "\"s\"");
            assertForwarded(c.get("/a", "Pragma", "no-cache"));
            assertThat(c.fetches()).isEqualTo(3);
        }

        @Test
        void onlyIfCachedAnswersFromTheStoreOr504() {
            assertHit(c.get("/a", "Cache-Control", "only-if-cached"));
            CacheResponse miss = c.get("/nothing", "Cache-Control", "only-if-cached");
            assertThat(miss.status()).isEqualTo(504);
            assertThat(c.fetches()).isEqualTo(1);
        }

        @Test
        void noStoreInTheRequestPreventsStoring() {
            c.respond(200, "n", "Cache-Control", "max-age=100").respond(200, "n2");
            c.get("/ns", "Cache-Control", "no-store");
            assertThat(c.get("/ns").body().toString()).isEqualTo("n2");
        }
    }

    @Nested
    class Section5_2ResponseDirectives {
        @Test
        void noCacheIsStoredButAlwaysValidated() {
            c.respond(200, "b", "Cache-Control", "no-cache, max-age=600", "ETag", "\"n\"");
            c.get("/a");
            c.respond(304, "", "ETag", "\"n\"");
            CacheResponse r = c.get("/a");
            assertThat(r.body().toString()).isEqualTo("b");
            assertThat(c.last().headers().get("If-None-Match")).isEqualTo("\"n\"");
        }

        @Test
        void mustRevalidateAndProxyRevalidateForbidServingStale() {
            for (String cc : List.of("max-age=1, must-revalidate", "max-age=1, proxy-revalidate", "s-maxage=1")) {
                CacheFixture f = new CacheFixture(vertx);
                f.respond(200, "old", "Cache-Control", cc).respond(200, "new");
                f.get("/a");
                f.advance(Duration.ofSeconds(5));
                assertThat(f.get("/a", "Cache-Control", "max-stale=100").body().toString()).as(cc).isEqualTo("new");
            }
        }

        @Test
        void mustRevalidateGives504WhenTheOriginIsUnreachable() {
            c.respond(200, "old", "Cache-Control", "max-age=1, must-revalidate, stale-if-error=60").fail();
            c.get("/a");
            c.advance(Duration.ofSeconds(5));
            assertThat(c.get("/a").status()).isEqualTo(504);
        }

        @Test
        void publicMakesAnOtherwiseUncacheableStatusStorable() {
            c.respond(302, "r", "Cache-Control", "public", "Last-Modified", HttpDates.format(c.now - 1_000_000));
            c.get("/a");
            assertHit(c.get("/a"));
        }
    }

    @Nested
    class Rfc5861Stale {
        @Test
        void staleWhileRevalidateServesStaleAndRefreshesOnceInTheBackground() {
            c.respond(200, "old", "Cache-Control", "max-age=1, stale-while-revalidate=60");
            c.get("/a");
            c.advance(Duration.ofSeconds(10));
            Promise<CacheResponse> slow = Promise.promise();
            c.script.add(req -> slow.future());
            CacheResponse stale = c.get("/a");
            assertThat(stale.body().toString()).isEqualTo("old");
            assertThat(stale.headers().get("Cache-Status")).contains("stale-while-revalidate");
            assertThat(c.get("/a").body().toString()).as("second stale hit while refreshing").isEqualTo("old");
            assertThat(c.fetches()).as("one background refresh").isEqualTo(2);
            slow.complete(c.response(200, "new", "Cache-Control", "max-age=60"));
            CacheResponse fresh = c.get("/a");
            assertThat(fresh.body().toString()).isEqualTo("new");
            assertHit(fresh);
        }

        @Test
        void beyondTheStaleWhileRevalidateWindowTheClientWaits() {
            c.respond(200, "old", "Cache-Control", "max-age=1, stale-while-revalidate=5").respond(200, "new");
            c.get("/a");
            c.advance(Duration.ofSeconds(10));
            assertThat(c.get("/a").body().toString()).isEqualTo("new");
        }

        @Test
        void staleIfErrorServesStaleOn5xxAndConnectionFailures() {
            c.respond(200, "old", "Cache-Control", "max-age=1, stale-if-error=60").respond(503, "down").fail();
            c.get("/a");
            c.advance(Duration.ofSeconds(10));
            CacheResponse r = c.get("/a");
            assertThat(r.status()).isEqualTo(200);
            assertThat(r.body().toString()).isEqualTo("old");
            assertThat(r.headers().get("Cache-Status")).contains("fwd-status=503").contains("detail=stale-if-error");
            assertThat(c.get("/a").body().toString()).isEqualTo("old");
        }

        @Test
        void withoutStaleIfErrorTheErrorIsPassedOn() {
            c.respond(200, "old", "Cache-Control", "max-age=1").respond(503, "down");
            c.get("/a");
            c.advance(Duration.ofSeconds(10));
            assertThat(c.get("/a").status()).isEqualTo(503);
        }

        @Test
        void theRuleCanAllowStaleIfErrorForOriginsThatDoNotSayIt() {
            c.rule = new CacheRule(true, CacheRule.DEFAULT_KEY, Duration.ZERO, Duration.ZERO, Duration.ofMinutes(5));
            c.respond(200, "old", "Cache-Control", "max-age=1").respond(502, "bad");
            c.get("/a");
            c.advance(Duration.ofSeconds(10));
            assertThat(c.get("/a").body().toString()).isEqualTo("old");
        }
    }

    @Nested
    class Rfc9211CacheStatus {
        @Test
        void missStoredThenHitWithTtl() {
            c.respond(200, "x", "Cache-Control", "max-age=60");
            assertThat(c.get("/a").headers().get("Cache-Status"))
                    .isEqualTo("tiergate; fwd=uri-miss; fwd-status=200; stored; ttl=60");
            c.advance(Duration.ofSeconds(10));
            assertThat(c.get("/a").headers().get("Cache-Status")).isEqualTo("tiergate; hit; ttl=50");
        }

        @Test
        void varyMissAndUpstreamCacheStatusIsKept() {
            c.respond(200, "en", "Cache-Control", "max-age=60", "Vary", "Accept-Language",
                    "Cache-Status", "origin-cache; hit");
            c.get("/a", "Accept-Language", "en");
            c.respond(200, "de", "Cache-Control", "max-age=60", "Vary", "Accept-Language");
            CacheResponse r = c.get("/a", "Accept-Language", "de");
            assertThat(r.headers().get("Cache-Status")).startsWith("tiergate; fwd=vary-miss");
            List<String> enLines = c.get("/a", "Accept-Language", "en").headers().getAll("Cache-Status");
            assertThat(enLines).as("our member comes last").containsExactly("origin-cache; hit", "tiergate; hit; ttl=60");
        }

        @Test
        void methodsThatAreNotCachedSayWhy() {
            c.respond(200, "ok");
            assertThat(c.request("POST", "/a").headers().get("Cache-Status")).isEqualTo("tiergate; fwd=method; fwd-status=200");
        }
    }

    @Nested
    class Rfc9213TargetedCacheControl {
        @Test
        void cdnCacheControlWinsOverCacheControl() {
            c.respond(200, "x", "Cache-Control", "max-age=3600", "CDN-Cache-Control", "max-age=1").respond(200, "y");
            c.get("/short");
            c.advance(Duration.ofSeconds(2));
            assertThat(c.get("/short").body().toString()).isEqualTo("y");
            c.respond(200, "x", "Cache-Control", "no-store", "CDN-Cache-Control", "max-age=600");
            c.get("/long");
            assertHit(c.get("/long"));
        }

        @Test
        void cdnNoStoreAndPrivateWinOverAFreshCacheControl() {
            for (String d : List.of("no-store", "private")) {
                CacheFixture f = new CacheFixture(vertx);
                f.respond(200, "x", "Cache-Control", "max-age=600", "CDN-Cache-Control", d).respond(200, "y");
                f.get("/a");
                assertThat(f.get("/a").body().toString()).as(d).isEqualTo("y");
            }
        }

        @Test
        void anInvalidDictionaryIsIgnoredInFavourOfCacheControl() {
            for (String bad : List.of("max-age=\"10000\"", "max-age=10000, &&&&&", "max-age =100")) {
                CacheFixture f = new CacheFixture(vertx);
                f.respond(200, "x", "Cache-Control", "no-store", "CDN-Cache-Control", bad).respond(200, "y");
                f.get("/a");
                assertThat(f.get("/a").body().toString()).as(bad).isEqualTo("y");
            }
        }

        @Test
        void hugeMaxAgeAndExtensionsAreAcceptedAndTheFieldIsForwarded() {
            c.respond(200, "x", "CDN-Cache-Control", "foobar, max-age=99999999999");
            assertThat(c.get("/a").headers().get("CDN-Cache-Control")).isEqualTo("foobar, max-age=99999999999");
            assertHit(c.get("/a"));
        }
    }

    @Nested
    class Section4_1Vary {
        @Test
        void variantsAreStoredPerSelectingHeader() {
            c.respond(200, "en", "Cache-Control", "max-age=60", "Vary", "Accept-Language")
                    .respond(200, "fr", "Cache-Control", "max-age=60", "Vary", "Accept-Language");
            c.get("/a", "Accept-Language", "en");
            c.get("/a", "Accept-Language", "fr");
            assertThat(c.get("/a", "Accept-Language", "en").body().toString()).isEqualTo("en");
            assertThat(c.get("/a", "Accept-Language", "fr").body().toString()).isEqualTo("fr");
            assertThat(c.fetches()).isEqualTo(2);
        }

        @Test
        void varyStarIsNeverServedFromTheCache() {
            c.respond(200, "1", "Cache-Control", "max-age=60", "Vary", "*").respond(200, "2");
            c.get("/a");
            assertThat(c.get("/a").body().toString()).isEqualTo("2");
        }

        @Test
        void acceptEncodingIsNormalised() {
            c.respond(200, "gz", "Cache-Control", "max-age=60", "Vary", "Accept-Encoding", "Content-Encoding", "gzip")
                    .respond(200, "plain", "Cache-Control", "max-age=60", "Vary", "Accept-Encoding");
            c.get("/a", "Accept-Encoding", "gzip, br");
            assertThat(c.get("/a", "Accept-Encoding", "br;q=1.0,gzip").body().toString()).isEqualTo("gz");
            assertThat(c.get("/a").body().toString()).as("identity variant").isEqualTo("plain");
            assertThat(c.get("/a", "Accept-Encoding", "gzip;q=0, br;q=0").body().toString()).isEqualTo("plain");
        }

        @Test
        void absentAndPresentSelectingHeadersDiffer() {
            c.respond(200, "none", "Cache-Control", "max-age=60", "Vary", "X-Mode")
                    .respond(200, "dark", "Cache-Control", "max-age=60", "Vary", "X-Mode");
            c.get("/a");
            assertThat(c.get("/a", "X-Mode", "dark").body().toString()).isEqualTo("dark");
        }
    }

    @Nested
    class RangesAndHead {
        @BeforeEach
        void stored() {
            c.respond(200, "0123456789", "Cache-Control", "max-age=60", "ETag", "\"r\"");
            c.get("/r");
        }

        @Test
        void aSingleRangeIsServedFromTheStoredFullResponse() {
            CacheResponse r = c.get("/r", "Range", "bytes=2-4");
            assertThat(r.status()).isEqualTo(206);
            assertThat(r.body().toString()).isEqualTo("234");
            assertThat(r.headers().get("Content-Range")).isEqualTo("bytes 2-4/10");
            assertThat(c.get("/r", "Range", "bytes=-3").body().toString()).isEqualTo("789");
            assertThat(c.fetches()).isEqualTo(1);
        }

        @Test
        void unsatisfiableRangesGet416() {
            CacheResponse r = c.get("/r", "Range", "bytes=20-");
            assertThat(r.status()).isEqualTo(416);
            assertThat(r.headers().get("Content-Range")).isEqualTo("bytes */10");
        }

        @Test
        void aMismatchingIfRangeGivesTheFullResponse() {
            assertThat(c.get("/r", "Range", "bytes=2-4", "If-Range", "\"other\"").status()).isEqualTo(200);
        }

        @Test
        void aRangeMissFetchesTheWholeObject() {
            c.respond(200, "abcdef", "Cache-Control", "max-age=60");
            CacheResponse r = c.get("/new", "Range", "bytes=0-1");
            assertThat(c.last().headers().contains("Range")).isFalse();
            assertThat(r.status()).isEqualTo(206);
            assertThat(r.body().toString()).isEqualTo("ab");
        }

        @Test
        void headIsAnsweredFromAStoredGet() {
            CacheResponse r = c.request("HEAD", "/r");
            assertThat(r.status()).isEqualTo(200);
            assertThat(r.body().length()).isZero();
            assertThat(r.headers().get("Content-Length")).isEqualTo("10");
            assertHit(r);
        }
    }

    @Nested
    class Collapsing {
        @Test
        void concurrentMissesForOneKeyCauseOneOriginFetch() {
            Promise<CacheResponse> slow = Promise.promise();
            c.script.add(req -> slow.future());
            List<Future<CacheResponse>> all = new ArrayList<>();
            for (int i = 0; i < 20; i++) {
                all.add(c.filter.handle(new CacheRequest("GET", "http", "example.com", "/hot",
                        io.vertx.core.MultiMap.caseInsensitiveMultiMap()), c.rule, c.origin));
            }
            slow.complete(c.response(200, "hot", "Cache-Control", "max-age=60"));
            for (Future<CacheResponse> f : all) {
                assertThat(CacheFixture.await(f).body().toString()).isEqualTo("hot");
            }
            assertThat(c.fetches()).as("origin fetches for 20 concurrent misses").isEqualTo(1);
            assertThat(CacheFixture.await(all.get(19)).headers().get("Cache-Status")).contains("collapsed");
        }

        @Test
        void waitersGiveUpAfterTheCollapseTimeoutAndGoUpstream() {
            CacheFixture f = new CacheFixture(vertx, new CacheConfig(1 << 20, 1 << 16, "tiergate",
                    List.of("CDN-Cache-Control"), Duration.ofMillis(50), 0.1, Duration.ofDays(1), 4));
            f.script.add(req -> Promise.<CacheResponse>promise().future()); // the leader's origin never answers
            f.respond(200, "second", "Cache-Control", "max-age=60");
            f.filter.handle(new CacheRequest("GET", "http", "example.com", "/stuck",
                    io.vertx.core.MultiMap.caseInsensitiveMultiMap()), f.rule, f.origin);
            assertThat(f.get("/stuck").body().toString()).isEqualTo("second");
        }

        @Test
        void uncacheableAnswersReleaseWaitersToGoUpstreamThemselves() {
            Promise<CacheResponse> slow = Promise.promise();
            c.script.add(req -> slow.future());
            c.respondAlways(200, "own", "Cache-Control", "private");
            Future<CacheResponse> first = c.filter.handle(new CacheRequest("GET", "http", "example.com", "/p",
                    io.vertx.core.MultiMap.caseInsensitiveMultiMap()), c.rule, c.origin);
            Future<CacheResponse> second = c.filter.handle(new CacheRequest("GET", "http", "example.com", "/p",
                    io.vertx.core.MultiMap.caseInsensitiveMultiMap()), c.rule, c.origin);
            slow.complete(c.response(200, "mine", "Cache-Control", "private"));
            assertThat(CacheFixture.await(first).body().toString()).isEqualTo("mine");
            assertThat(CacheFixture.await(second).body().toString()).isEqualTo("own");
        }
    }

    @Nested
    class StoreBoundsAndPurge {
        @Test
        void theStoreStaysWithinItsByteBound() {
            CacheFixture f = new CacheFixture(vertx, new CacheConfig(64 * 1024, 8 * 1024, "tiergate",
                    List.of(), Duration.ofSeconds(1), 0.1, Duration.ofDays(1), 4));
            f.respondAlways(200, "x".repeat(4000), "Cache-Control", "max-age=600");
            for (int i = 0; i < 100; i++) {
                f.get("/obj" + i);
            }
            assertThat(f.filter.store().weightedSize()).as("bytes held").isLessThanOrEqualTo(64 * 1024);
            assertThat(f.filter.store().keyCount()).isBetween(5L, 16L);
        }

        @Test
        void purgeOneKeyAndAPrefix() {
            c.respondAlways(200, "x", "Cache-Control", "max-age=600");
            c.get("/img/a.png");
            c.get("/img/b.png");
            c.get("/css/c.css");
            assertThat(c.filter.purge("http://example.com/css/c.css")).isTrue();
            assertThat(c.filter.purgePrefix("http://example.com/img/")).isEqualTo(2);
            assertThat(c.filter.store().keyCount()).isZero();
        }

        @Test
        void aCustomKeyIgnoresTheQueryString() {
            c.rule = new CacheRule(true, "$scheme://$host$uri", Duration.ZERO, Duration.ZERO, Duration.ZERO);
            c.respond(200, "x", "Cache-Control", "max-age=600");
            c.get("/a?utm=1");
            assertHit(c.get("/a?utm=2"));
        }

        @Test
        void aDisabledRulePassesEverythingThrough() {
            c.rule = CacheRule.OFF;
            c.respondAlways(200, "x", "Cache-Control", "max-age=600");
            c.get("/a");
            c.get("/a");
            assertThat(c.fetches()).isEqualTo(2);
        }
    }
}
