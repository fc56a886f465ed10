package io.tiergate.proxy.auth;

import at.favre.lib.crypto.bcrypt.BCrypt;
import org.apache.commons.codec.digest.Sha2Crypt;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * An htpasswd file ({@code user:hash} per line, {@code #} comments) with salted, slow hashes only: bcrypt
 * ({@code $2y$}, {@code $2b$}, {@code $2a$}; {@code htpasswd -B}) and SHA-crypt ({@code $5$}, {@code $6$};
 * {@code mkpasswd -m sha-512}). Plain text, DES crypt, MD5 ({@code $apr1$}, {@code $1$}) and {@code {SHA}} are refused
 * when the file is read: they are cheap to brute-force from a leaked file.
 */
public final class Htpasswd {
    private final Path file;
    private final Map<String, String> hashes;
    private final long stamp; // last-modified millis and size, to notice an edit
    private volatile long seen; // the stamp of a broken edit already reported, so it is reported once

    private Htpasswd(Path file, Map<String, String> hashes, long stamp) {
        this.file = file;
        this.hashes = Map.copyOf(hashes);
        this.stamp = stamp;
    }

    /** A problem in the file, with its 1-based line. */
    public static final class Invalid extends Exception {
        public Invalid(String message) {
            super(message);
        }
    }

    public Path file() {
        return file;
    }

    /** Whether the file on disk differs from what this was read from (or from a broken edit already reported). */
    public boolean changed() {
        try {
            long now = stampOf(file);
            return now != stamp && now != seen;
        } catch (IOException e) {
            return false; // gone or unreadable for a moment (an editor's rename): keep what we have
        }
    }

    /** Remembers the current (broken) version of the file so it is not re-read and re-reported every second. */
    public void noteSeen() {
        try {
            seen = stampOf(file);
        } catch (IOException e) {
            seen = 0;
        }
    }

    public int users() {
        return hashes.size();
    }

    static long stampOf(Path file) throws IOException {
        return Files.getLastModifiedTime(file).toMillis() * 31 + Files.size(file);
    }

    /** Reads and checks the whole file (blocking I/O: call from config parsing or a worker thread). */
    public static Htpasswd load(Path file) throws Invalid {
        List<String> lines;
        long stamp;
        try {
            stamp = stampOf(file);
            lines = Files.readAllLines(file, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new Invalid("cannot read " + file + ": " + e.getMessage());
        }
        Map<String, String> hashes = new HashMap<>();
        for (int i = 0; i < lines.size(); i++) {
            String line = lines.get(i).strip();
            String at = file + ":" + (i + 1);
            if (line.isEmpty() || line.startsWith("#")) {
                continue;
            }
            int colon = line.indexOf(':');
            if (colon <= 0) {
                throw new Invalid(at + ": not 'user:hash'");
            }
            String user = line.substring(0, colon);
            String hash = line.substring(colon + 1);
            String weak = weakness(hash);
            if (weak != null) {
                throw new Invalid(at + ": user '" + user + "' has " + weak
                        + "; only bcrypt ($2y$, htpasswd -B) and SHA-crypt ($5$/$6$) are accepted");
            }
            if (hashes.put(user, hash) != null) {
                throw new Invalid(at + ": user '" + user + "' is listed twice");
            }
        }
        return new Htpasswd(file, hashes, stamp);
    }

    /** Why {@code hash} is not accepted, or null. */
    private static String weakness(String hash) {
        if (hash.matches("\\$2[aby]\\$\\d\\d\\$[./A-Za-z0-9]{53}")) {
            return null;
        }
        if (hash.matches("\\$[56]\\$(rounds=\\d+\\$)?[^$:]{1,16}\\$[./A-Za-z0-9]{43,86}")) {
            return null;
        }
        if (hash.startsWith("$apr1$") || hash.startsWith("$1$")) {
            return "an MD5 hash (" + hash.substring(0, hash.indexOf('$', 1) + 1) + ")";
        }
        if (hash.startsWith("{SHA}")) {
            return "an unsalted SHA-1 hash ({SHA})";
        }
        if (hash.startsWith("$")) {
            return "an unsupported or malformed hash";
        }
        return hash.length() == 13 ? "a DES crypt hash or a plain-text password" : "a plain-text password";
    }

    /** Whether {@code password} is {@code user}'s. Slow by design (bcrypt, SHA-crypt): never on an event loop. */
    public boolean verify(String user, String password) {
        String hash = hashes.get(user);
        if (hash == null) {
            return false;
        }
        if (hash.startsWith("$2")) {
            return BCrypt.verifyer().verify(password.getBytes(StandardCharsets.UTF_8),
                    hash.getBytes(StandardCharsets.UTF_8)).verified;
        }
        byte[] key = password.getBytes(StandardCharsets.UTF_8);
        String computed = hash.startsWith("$5$") ? Sha2Crypt.sha256Crypt(key, hash) : Sha2Crypt.sha512Crypt(key, hash);
        return MessageDigest.isEqual(computed.getBytes(StandardCharsets.UTF_8), hash.getBytes(StandardCharsets.UTF_8));
    }
}
