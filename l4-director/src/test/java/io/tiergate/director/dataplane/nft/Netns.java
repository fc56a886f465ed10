package io.tiergate.director.dataplane.nft;

import jnr.ffi.LibraryLoader;

/** Moves the CALLING THREAD into a named network namespace (setns affects one thread), for tests. */
final class Netns {
    private static final int CLONE_NEWNET = 0x40000000;

    public interface LibC {
        int open(String path, int flags);

        int setns(int fd, int nstype);

        int close(int fd);
    }

    private static final LibC C = LibraryLoader.create(LibC.class).load("c");

    private Netns() {
    }

    static void enter(String name) {
        int fd = C.open("/var/run/netns/" + name, 0);
        if (fd < 0) {
            throw new IllegalStateException("cannot open netns " + name);
        }
        try {
            if (C.setns(fd, CLONE_NEWNET) != 0) {
                throw new IllegalStateException("setns " + name + " failed");
            }
        } finally {
            C.close(fd);
        }
    }
}
