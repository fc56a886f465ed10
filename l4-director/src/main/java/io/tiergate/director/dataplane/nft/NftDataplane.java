package io.tiergate.director.dataplane.nft;

import io.tiergate.director.config.DirectorConfig;
import io.tiergate.director.dataplane.Dataplane;
import io.tiergate.director.dataplane.DataplaneException;

import java.util.Optional;

public final class NftDataplane {
    public static Optional<String> unavailableReason() {
        return Optional.of("not built yet");
    }

    public static Dataplane open(DirectorConfig config) throws DataplaneException {
        throw new DataplaneException("not built yet");
    }
}
