package io.tiergate.director.dataplane;

/**
 * The dataplane cannot be programmed because this process lacks a privilege (root or CAP_NET_ADMIN for nft and ipvs,
 * CAP_NET_BIND_SERVICE for a userspace VIP port below 1024). The CLI exits 77 on it, the code BSD's sysexits and the
 * README give to "permission denied".
 */
public final class PrivilegeException extends DataplaneException {
    private static final long serialVersionUID = 1L;

    public PrivilegeException(String message) {
        super(message);
    }

    /** Whether a dataplane error text is the kernel refusing for lack of privilege (EPERM / EACCES). */
    public static boolean isPrivilegeError(String error) {
        return error != null && (error.contains("Operation not permitted") || error.contains("Permission denied")
                || error.contains("EPERM") || error.contains("EACCES"));
    }
}
