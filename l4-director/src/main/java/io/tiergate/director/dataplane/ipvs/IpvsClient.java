package io.tiergate.director.dataplane.ipvs;

import static io.tiergate.director.netlink.Errno.EEXIST;
import static io.tiergate.director.netlink.Errno.ENOENT;
import static io.tiergate.director.netlink.Errno.EPERM;
import static io.tiergate.director.netlink.Errno.ESRCH;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.function.IntFunction;

import io.tiergate.director.netlink.Errno;
import io.tiergate.director.netlink.Netlink;
import io.tiergate.director.netlink.NetlinkException;
import io.tiergate.director.netlink.NetlinkSocket;
import io.tiergate.director.netlink.NlMessage;

/**
 * Programs the kernel's IPVS table over generic netlink, as ipvsadm does, one socket per client.
 * Every call is synchronous: it returns once the kernel has acknowledged (or answered) it.
 * Kernel refusals become {@link IpvsException}s whose messages name the service or destination
 * and, where the user can fix it, how. Calls are serialised; the director's single writer owns one.
 */
public final class IpvsClient implements AutoCloseable {
    private final NetlinkSocket socket;
    private final IpvsCodec codec;

    private IpvsClient(NetlinkSocket socket, IpvsCodec codec) {
        this.socket = socket;
        this.codec = codec;
    }

    /** Opens a socket and resolves the "IPVS" family; throws {@link IpvsUnavailableException} if the kernel has none. */
    public static IpvsClient open() {
        NetlinkSocket s = NetlinkSocket.open(Netlink.NETLINK_GENERIC);
        try {
            int id = s.resolveFamily(IpvsWire.FAMILY_NAME);
            return new IpvsClient(s, new IpvsCodec(id));
        } catch (NetlinkException e) {
            s.close();
            if (e.errno() == ENOENT) {
                throw new IpvsUnavailableException("the kernel has no IPVS: run `modprobe ip_vs` "
                        + "(or choose the nft or userspace dataplane)", e.errno());
            }
            throw new IpvsException("can't reach IPVS over generic netlink: " + e.getMessage(), e.errno());
        } catch (RuntimeException e) {
            s.close();
            throw e;
        }
    }

    /** Whether this kernel has IPVS (the generic-netlink family resolves). Needs no privileges. */
    public static boolean available() {
        try (IpvsClient c = open()) {
            return true;
        } catch (RuntimeException | LinkageError e) {
            return false;
        }
    }

    public int familyId() {
        return codec.familyId();
    }

    public synchronized IpvsInfo info() {
        return IpvsCodec.decodeInfo(call(codec::getInfo, "reading IPVS info", null, null));
    }

    public synchronized List<IpvsService> services() {
        return IpvsCodec.decodeServices(call(codec::dumpServices, "listing IPVS services", null, null));
    }

    /** The kernel's view of one service (settings and stats), or empty if it doesn't exist. */
    public synchronized Optional<IpvsService> service(IpvsService key) {
        try {
            List<IpvsService> found = IpvsCodec.decodeServices(call(seq -> codec.getService(seq, key), "reading service", key, null));
            return found.stream().findFirst();
        } catch (IpvsNotFoundException e) {
            return Optional.empty();
        }
    }

    public synchronized List<IpvsDestination> destinations(IpvsService service) {
        return IpvsCodec.decodeDestinations(call(seq -> codec.dumpDestinations(seq, service), "listing destinations", service, null),
                service.family());
    }

    public synchronized void newService(IpvsService s) {
        call(seq -> codec.newService(seq, s), "adding service", s, null);
    }

    public synchronized void setService(IpvsService s) {
        call(seq -> codec.setService(seq, s), "changing service", s, null);
    }

    public synchronized void delService(IpvsService s) {
        call(seq -> codec.delService(seq, s), "deleting service", s, null);
    }

    public synchronized void newDestination(IpvsService s, IpvsDestination d) {
        call(seq -> codec.newDestination(seq, s, d), "adding destination", s, d);
    }

    public synchronized void setDestination(IpvsService s, IpvsDestination d) {
        call(seq -> codec.setDestination(seq, s, d), "changing destination", s, d);
    }

    public synchronized void delDestination(IpvsService s, IpvsDestination d) {
        call(seq -> codec.delDestination(seq, s, d), "deleting destination", s, d);
    }

    /** Removes every virtual service (ipvsadm -C). */
    public synchronized void flush() {
        call(codec::flush, "flushing IPVS", null, null);
    }

    /** Zeroes every counter (ipvsadm -Z). */
    public synchronized void zero() {
        call(codec::zero, "zeroing IPVS counters", null, null);
    }

    public synchronized void zero(IpvsService s) {
        call(seq -> codec.zero(seq, s), "zeroing counters of service", s, null);
    }

    public synchronized IpvsTimeouts config() {
        return IpvsCodec.decodeTimeouts(call(codec::getConfig, "reading IPVS timeouts", null, null));
    }

    /** Sets the tcp/tcpfin/udp timeouts; a 0 leaves that one unchanged. */
    public synchronized void setConfig(IpvsTimeouts t) {
        call(seq -> codec.setConfig(seq, t), "setting IPVS timeouts", null, null);
    }

    public synchronized List<IpvsDaemon> daemons() {
        return IpvsCodec.decodeDaemons(call(codec::dumpDaemons, "listing sync daemons", null, null));
    }

    public synchronized void newDaemon(IpvsDaemon d) {
        try {
            call(seq -> codec.newDaemon(seq, d), "starting sync daemon", null, null);
        } catch (IpvsAlreadyExistsException e) {
            throw new IpvsAlreadyExistsException("a " + d.state().name().toLowerCase() + " sync daemon is already running", e.errno());
        } catch (IpvsNotFoundException e) {
            throw new IpvsNotFoundException("can't start the " + d.state().name().toLowerCase() + " sync daemon on '"
                    + d.interfaceName() + "': no such interface", e.errno());
        }
    }

    public synchronized void delDaemon(IpvsDaemon.State state) {
        try {
            call(seq -> codec.delDaemon(seq, state), "stopping sync daemon", null, null);
        } catch (IpvsNotFoundException e) {
            throw new IpvsNotFoundException("no " + state.name().toLowerCase() + " sync daemon is running", e.errno());
        }
    }

    /** One change for {@link #apply(List)}. */
    public record Change(Kind kind, IpvsService service, IpvsDestination destination) {
        public enum Kind { NEW_SERVICE, SET_SERVICE, DEL_SERVICE, NEW_DEST, SET_DEST, DEL_DEST }

        public static Change newService(IpvsService s) { return new Change(Kind.NEW_SERVICE, s, null); }
        public static Change setService(IpvsService s) { return new Change(Kind.SET_SERVICE, s, null); }
        public static Change delService(IpvsService s) { return new Change(Kind.DEL_SERVICE, s, null); }
        public static Change newDest(IpvsService s, IpvsDestination d) { return new Change(Kind.NEW_DEST, s, d); }
        public static Change setDest(IpvsService s, IpvsDestination d) { return new Change(Kind.SET_DEST, s, d); }
        public static Change delDest(IpvsService s, IpvsDestination d) { return new Change(Kind.DEL_DEST, s, d); }
    }

    /**
     * Applies many changes pipelined (many requests per system call, acks read in bulk), in order.
     * The kernel applies each on its own: a failed one doesn't stop the later ones. Returns the
     * failures as exceptions carrying the same messages as the one-by-one calls; empty = all applied.
     */
    public synchronized List<IpvsException> apply(List<Change> changes) {
        int first = socket.reserveSeqs(Math.max(1, changes.size()));
        List<byte[]> messages = new ArrayList<>(changes.size());
        for (int i = 0; i < changes.size(); i++) {
            Change c = changes.get(i);
            int seq = first + i;
            messages.add(switch (c.kind()) {
                case NEW_SERVICE -> codec.newService(seq, c.service());
                case SET_SERVICE -> codec.setService(seq, c.service());
                case DEL_SERVICE -> codec.delService(seq, c.service());
                case NEW_DEST -> codec.newDestination(seq, c.service(), c.destination());
                case SET_DEST -> codec.setDestination(seq, c.service(), c.destination());
                case DEL_DEST -> codec.delDestination(seq, c.service(), c.destination());
            });
        }
        int[] errnos = socket.requestAll(messages, first);
        List<IpvsException> failures = new ArrayList<>();
        for (int i = 0; i < errnos.length; i++) {
            if (errnos[i] != 0) {
                Change c = changes.get(i);
                String what = switch (c.kind()) {
                    case NEW_SERVICE -> "adding service";
                    case SET_SERVICE -> "changing service";
                    case DEL_SERVICE -> "deleting service";
                    case NEW_DEST -> "adding destination";
                    case SET_DEST -> "changing destination";
                    case DEL_DEST -> "deleting destination";
                };
                failures.add(translate(new NetlinkException(what + ": " + Errno.name(errnos[i]), errnos[i]), what, c.service(), c.destination()));
            }
        }
        return failures;
    }

    private List<NlMessage> call(IntFunction<byte[]> request, String what, IpvsService s, IpvsDestination d) {
        int seq = socket.nextSeq();
        try {
            return socket.request(request.apply(seq), seq, what);
        } catch (NetlinkException e) {
            throw translate(e, what, s, d);
        }
    }

    /** Kernel errno to the exception a user can act on; see ip_vs_ctl.c for which errno means what. */
    static IpvsException translate(NetlinkException e, String what, IpvsService s, IpvsDestination d) {
        int errno = e.errno();
        String svc = s == null ? null : "service " + s.describe();
        String dst = d == null ? null : "destination " + d.describe() + " of " + svc;
        boolean writesService = what.equals("adding service") || what.equals("changing service");
        if (errno == EPERM) {
            return new IpvsPermissionException(what + " needs root / CAP_NET_ADMIN (EPERM)", errno);
        }
        if (errno == ENOENT && writesService) {
            String m = "scheduler '" + s.scheduler() + "' is not loaded: run `modprobe ip_vs_" + s.scheduler() + "`";
            if (s.persistenceEngine() != null) {
                m += " (or, if it is loaded, the persistence engine: `modprobe ip_vs_pe_" + s.persistenceEngine() + "`)";
            }
            return new IpvsSchedulerNotLoadedException(m, errno);
        }
        if (errno == EEXIST) {
            return new IpvsAlreadyExistsException((dst != null ? dst : svc != null ? svc : what) + " already exists", errno);
        }
        if (errno == ESRCH) {
            // ESRCH: the service (or sync daemon) isn't there.
            return new IpvsNotFoundException((svc != null ? svc : what) + " not found", errno);
        }
        if (errno == ENOENT) {
            return new IpvsNotFoundException((dst != null ? dst : svc != null ? svc : what) + " not found", errno);
        }
        String subject = dst != null ? dst : svc;
        return new IpvsException(what + (subject == null ? "" : " (" + subject + ")") + " failed: "
                + e.getMessage().substring(e.getMessage().indexOf(": ") + 2), errno);
    }

    @Override
    public synchronized void close() {
        socket.close();
    }
}
