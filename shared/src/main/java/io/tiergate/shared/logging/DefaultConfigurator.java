package io.tiergate.shared.logging;

import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.spi.Configurator;
import ch.qos.logback.core.spi.ContextAwareBase;

/**
 * Logback's first configuration, found through {@code META-INF/services}: text lines at INFO on stderr, set up in code
 * (what a {@code logback.xml} with one console appender would say). Reading an XML file instead would load Logback's
 * configuration interpreter and the JDK's XML parser into every process: some 400 classes and ~2 MB resident.
 * A file the operator names with {@code -Dlogback.configurationFile}, or a {@code logback-test.xml}/{@code logback.xml}
 * on the class path (tests), still wins: this configurator then steps aside for Logback's own.
 */
public final class DefaultConfigurator extends ContextAwareBase implements Configurator {

    @Override
    public ExecutionStatus configure(LoggerContext context) {
        ClassLoader loader = DefaultConfigurator.class.getClassLoader();
        if (System.getProperty("logback.configurationFile") != null
                || loader.getResource("logback-test.xml") != null
                || loader.getResource("logback.xml") != null) {
            return ExecutionStatus.INVOKE_NEXT_IF_ANY;
        }
        Logging.installDefault(context);
        return ExecutionStatus.DO_NOT_INVOKE_NEXT_IF_ANY;
    }
}
