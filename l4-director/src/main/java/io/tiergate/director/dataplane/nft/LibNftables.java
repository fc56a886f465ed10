package io.tiergate.director.dataplane.nft;

import jnr.ffi.LibraryLoader;
import jnr.ffi.Pointer;

/** The six calls of libnftables we need (nftables' libnftables.h), bound with jnr-ffi. */
public interface LibNftables {
    int NFT_CTX_DEFAULT = 0;
    /** libnftables.h: list without set elements (and without fetching them). */
    int NFT_CTX_OUTPUT_TERSE = 1 << 11;

    int nft_ctx_output_get_flags(Pointer ctx);

    void nft_ctx_output_set_flags(Pointer ctx, int flags);

    Pointer nft_ctx_new(int flags);

    void nft_ctx_free(Pointer ctx);

    int nft_ctx_buffer_output(Pointer ctx);

    int nft_ctx_buffer_error(Pointer ctx);

    String nft_ctx_get_output_buffer(Pointer ctx);

    String nft_ctx_get_error_buffer(Pointer ctx);

    int nft_run_cmd_from_buffer(Pointer ctx, String buf);

    /** Debian's libnftables1 ships only the versioned name; the unversioned .so needs libnftables-dev. */
    static LibNftables load() {
        return LibraryLoader.create(LibNftables.class).failImmediately().load("libnftables.so.1");
    }
}
