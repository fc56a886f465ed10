package io.tiergate.proxy.staticfiles;

import io.tiergate.proxy.cache.ByteRange;
import io.tiergate.proxy.cache.HttpDates;
import io.vertx.core.Future;
import io.vertx.core.MultiMap;
import io.vertx.core.Vertx;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.AccessDeniedException;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Serving files from a location's {@code root}/{@code alias}.
 *
 * <p>Path traversal is refused in two independent layers. The request path is decoded strictly (bad
 * percent-encoding, encoded {@code /} or {@code \}, a NUL, a raw backslash and any {@code ..} segment → 400) and
 * joined segment by segment, so the lexical path cannot leave the directory. Then the file's real path (all
 * symlinks resolved) must still be under the directory's real path, or the answer is 403: a symlink may point
 * elsewhere inside the root, never outside it. The file sent is the resolved real path.
 *
 * <p>File system calls run on a worker thread; the bytes go out with {@code sendFile} (zero-copy on plain HTTP/1.1).
 */
public final class StaticFiles {
    private StaticFiles() {
    }

    /** Answers {@code method uri} ({@code uri} as received, percent-encoded, query allowed) from {@code config}. */
    public static Future<StaticReply> serve(Vertx vertx, StaticConfig config, String locationPrefix, String method,
                                            String uri, MultiMap requestHeaders) {
        if (!method.equals("GET") && !method.equals("HEAD")) {
            StaticReply r = StaticReply.text(405, "405 Method Not Allowed: static files answer GET and HEAD\n");
            r.headers().set("Allow", "GET, HEAD");
            return Future.succeededFuture(r);
        }
        return vertx.executeBlocking(() -> answer(config, locationPrefix, method, uri, requestHeaders), false);
    }

    static StaticReply answer(StaticConfig config, String locationPrefix, String method, String uri,
                              MultiMap requestHeaders) {
        int q = uri.indexOf('?');
        String rawPath = q < 0 ? uri : uri.substring(0, q);
        String query = q < 0 ? "" : uri.substring(q);
        String rel = rawPath;
        if (config.alias() && locationPrefix != null && rawPath.startsWith(locationPrefix)) {
            rel = rawPath.substring(locationPrefix.length());
        }
        List<String> segments;
        try {
            segments = segments(rel);
        } catch (IllegalArgumentException e) {
            return StaticReply.text(400, "400 Bad Request: " + e.getMessage() + "\n");
        }
        Path base = config.directory();
        Path target = base;
        for (String s : segments) {
            target = target.resolve(s);
        }
        if (!target.normalize().startsWith(base)) {
            return StaticReply.text(400, "400 Bad Request: path leaves the document root\n");
        }
        try {
            Path real = target.toRealPath();
            if (!real.startsWith(base)) {
                return StaticReply.text(403, "403 Forbidden\n");
            }
            BasicFileAttributes attrs = Files.readAttributes(real, BasicFileAttributes.class);
            if (attrs.isDirectory()) {
                if (!rawPath.endsWith("/")) {
                    MultiMap h = MultiMap.caseInsensitiveMultiMap().set("Location", rawPath + "/" + query);
                    return new StaticReply(301, h, io.vertx.core.buffer.Buffer.buffer(), null, 0, 0);
                }
                for (String name : config.index()) {
                    Path candidate = real.resolve(name);
                    if (!Files.exists(candidate, LinkOption.NOFOLLOW_LINKS)) {
                        continue;
                    }
                    Path realIndex = candidate.toRealPath();
                    if (!realIndex.startsWith(base)) {
                        return StaticReply.text(403, "403 Forbidden\n");
                    }
                    BasicFileAttributes ia = Files.readAttributes(realIndex, BasicFileAttributes.class);
                    if (ia.isRegularFile()) {
                        return file(realIndex, ia, method, requestHeaders);
                    }
                }
                // No directory listing: the directory exists, so say "forbidden" as nginx does.
                return StaticReply.text(403, "403 Forbidden: directory listing is off\n");
            }
            if (!attrs.isRegularFile()) {
                return StaticReply.text(403, "403 Forbidden\n");
            }
            if (rawPath.endsWith("/")) {
                return StaticReply.text(404, "404 Not Found\n");
            }
            return file(real, attrs, method, requestHeaders);
        } catch (AccessDeniedException | SecurityException e) {
            return StaticReply.text(403, "403 Forbidden\n");
        } catch (IOException e) {
            // Missing, or a path through a regular file ("a.txt/more": ENOTDIR), or a symlink loop.
            return StaticReply.text(404, "404 Not Found\n");
        }
    }

    /** The path's segments, strictly decoded; throws IllegalArgumentException (→ 400) on anything dubious. */
    static List<String> segments(String rawPath) {
        String lower = rawPath.toLowerCase(Locale.ROOT);
        if (lower.contains("%2f") || lower.contains("%5c")) {
            throw new IllegalArgumentException("encoded slash or backslash in the path");
        }
        if (rawPath.indexOf('\\') >= 0) {
            throw new IllegalArgumentException("backslash in the path");
        }
        String decoded = decode(rawPath);
        if (decoded.indexOf('\0') >= 0) {
            throw new IllegalArgumentException("NUL in the path");
        }
        List<String> out = new ArrayList<>();
        for (String s : decoded.split("/")) {
            if (s.isEmpty() || s.equals(".")) {
                continue;
            }
            if (s.equals("..")) {
                throw new IllegalArgumentException("'..' in the path");
            }
            out.add(s);
        }
        return out;
    }

    private static String decode(String raw) {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream(raw.length());
        for (int i = 0; i < raw.length(); i++) {
            char c = raw.charAt(i);
            if (c == '%') {
                if (i + 2 >= raw.length()) {
                    throw new IllegalArgumentException("bad percent-encoding in the path");
                }
                int hi = Character.digit(raw.charAt(i + 1), 16);
                int lo = Character.digit(raw.charAt(i + 2), 16);
                if (hi < 0 || lo < 0) {
                    throw new IllegalArgumentException("bad percent-encoding in the path");
                }
                bytes.write(hi * 16 + lo);
                i += 2;
            } else if (c > 0x7f) {
                throw new IllegalArgumentException("non-ASCII byte in the path");
            } else {
                bytes.write(c);
            }
        }
        try {
            return StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(ByteBuffer.wrap(bytes.toByteArray())).toString();
        } catch (CharacterCodingException e) {
            throw new IllegalArgumentException("path is not UTF-8");
        }
    }

    /** ETag as nginx makes it: last-modified seconds and size, in hex. */
    static String etag(BasicFileAttributes a) {
        return "\"" + Long.toHexString(a.lastModifiedTime().toMillis() / 1000) + "-" + Long.toHexString(a.size()) + "\"";
    }

    private static StaticReply file(Path real, BasicFileAttributes a, String method, MultiMap req) {
        long size = a.size();
        long mtime = a.lastModifiedTime().toMillis() / 1000 * 1000;
        String etag = etag(a);
        String lastModified = HttpDates.format(mtime);
        MultiMap h = MultiMap.caseInsensitiveMultiMap()
                .set("Content-Type", MimeTypes.of(real.getFileName().toString()))
                .set("ETag", etag).set("Last-Modified", lastModified).set("Accept-Ranges", "bytes");
        // RFC 9110 §13.2.2: If-None-Match wins over If-Modified-Since.
        String inm = req.get("If-None-Match");
        if (inm != null) {
            if (matches(inm, etag)) {
                return StaticReply.empty(304, h.remove("Content-Type").remove("Accept-Ranges"));
            }
        } else {
            long ims = HttpDates.parse(req.get("If-Modified-Since"));
            if (ims >= 0 && mtime <= ims) {
                return StaticReply.empty(304, h.remove("Content-Type").remove("Accept-Ranges"));
            }
        }
        String range = req.get("Range");
        if (range != null && method.equals("GET") && ifRangeHolds(req.get("If-Range"), etag, lastModified)) {
            long[] r = ByteRange.parse(range, size);
            if (r == ByteRange.UNSATISFIABLE) {
                h.set("Content-Range", "bytes */" + size);
                StaticReply x = StaticReply.text(416, "416 Range Not Satisfiable\n");
                x.headers().addAll(h.remove("Content-Type"));
                return x;
            }
            if (r != null) {
                long len = r[1] - r[0] + 1;
                h.set("Content-Range", "bytes " + r[0] + "-" + r[1] + "/" + size).set("Content-Length",
                        Long.toString(len));
                return new StaticReply(206, h, null, real.toString(), r[0], len);
            }
        }
        h.set("Content-Length", Long.toString(size));
        return new StaticReply(200, h, null, real.toString(), 0, size);
    }

    /** Weak comparison (RFC 9110 §8.8.3.2) against a comma-separated list, or {@code *}. */
    static boolean matches(String list, String etag) {
        String opaque = etag.startsWith("W/") ? etag.substring(2) : etag;
        for (String t : list.split(",")) {
            String s = t.trim();
            if (s.equals("*")) {
                return true;
            }
            if (s.startsWith("W/")) {
                s = s.substring(2);
            }
            if (s.equals(opaque)) {
                return true;
            }
        }
        return false;
    }

    /** If-Range: a strong ETag equal to ours, or exactly our Last-Modified; absent → the range applies. */
    private static boolean ifRangeHolds(String ifRange, String etag, String lastModified) {
        if (ifRange == null) {
            return true;
        }
        String v = ifRange.trim();
        if (v.startsWith("\"")) {
            return v.equals(etag);
        }
        return v.equals(lastModified);
    }
}
