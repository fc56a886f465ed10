package io.tiergate.shared.logging;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.spi.Configurator.ExecutionStatus;
import ch.qos.logback.core.Appender;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.slf4j.Logger;

class DefaultConfiguratorTest {

    @Test
    void withoutAFileItWritesTextAtInfoAndKeepsLogbacksFileReaderOut() {
        LoggerContext ctx = new LoggerContext();
        DefaultConfigurator c = new DefaultConfigurator();
        c.setContext(ctx);
        assertThat(c.configure(ctx)).isEqualTo(ExecutionStatus.DO_NOT_INVOKE_NEXT_IF_ANY);
        ch.qos.logback.classic.Logger root = ctx.getLogger(Logger.ROOT_LOGGER_NAME);
        assertThat(root.getLevel()).isEqualTo(Level.INFO);
        List<Appender<?>> appenders = new ArrayList<>();
        root.iteratorForAppenders().forEachRemaining(appenders::add);
        assertThat(appenders).singleElement().satisfies(a -> {
            assertThat(a.getName()).isEqualTo("text");
            assertThat(a.isStarted()).isTrue();
        });
        ctx.stop();
    }

    @Test
    void aFileTheOperatorNamesStillWins() {
        String before = System.getProperty("logback.configurationFile");
        System.setProperty("logback.configurationFile", "/etc/tiergate/logback.xml");
        try {
            LoggerContext ctx = new LoggerContext();
            DefaultConfigurator c = new DefaultConfigurator();
            c.setContext(ctx);
            assertThat(c.configure(ctx)).isEqualTo(ExecutionStatus.INVOKE_NEXT_IF_ANY);
            assertThat(ctx.getLogger(Logger.ROOT_LOGGER_NAME).iteratorForAppenders().hasNext()).isFalse();
        } finally {
            if (before == null) {
                System.clearProperty("logback.configurationFile");
            } else {
                System.setProperty("logback.configurationFile", before);
            }
        }
    }
}
