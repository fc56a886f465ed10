package io.tiergate.shared.config;

import java.io.IOException;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileSystemException;
import java.nio.file.NoSuchFileException;
import java.nio.file.NotDirectoryException;

/**
 * Why a file could not be read, in the words the operator knows from {@code cat}: the errno text ("Permission
 * denied", "No such file or directory"). Java's NIO exceptions carry only the path in their message and the
 * reason in their type (or in {@link FileSystemException#getReason()}), so both are looked at.
 */
public final class FileErrors {
    private FileErrors() {
    }

    public static String reason(IOException e) {
        if (e instanceof NoSuchFileException) {
            return "No such file or directory";
        }
        if (e instanceof AccessDeniedException) {
            return "Permission denied";
        }
        if (e instanceof NotDirectoryException) {
            return "Not a directory";
        }
        if (e instanceof FileSystemException fs && fs.getReason() != null) {
            return fs.getReason();
        }
        String m = e.getMessage();
        return m == null || m.isBlank() ? e.getClass().getSimpleName() : m;
    }

    /** Reads a whole file, or says why not: "cannot read FILE: Permission denied". */
    public static byte[] read(java.nio.file.Path file) throws IOException {
        if (java.nio.file.Files.isDirectory(file)) {
            throw new FileSystemException(file.toString(), null, "Is a directory");
        }
        return java.nio.file.Files.readAllBytes(file);
    }
}
