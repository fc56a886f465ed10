package io.tiergate.director.engine;

import io.tiergate.director.model.RealServer;
import io.tiergate.director.model.VirtualService;

/**
 * One resolved member of a service: a configured real server at one of its addresses (a DNS name gives one member per
 * address). {@link #healthId()} names it to the health engine and in operator commands.
 */
record Member(VirtualService service, RealServer server, String address, int port) {
    String destinationId() {
        return (address.indexOf(':') >= 0 ? "[" + address + "]" : address) + ":" + port;
    }

    String healthId() {
        return service.name() + "/" + destinationId();
    }
}
