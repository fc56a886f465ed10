package io.tiergate.director.ha;

import org.junit.jupiter.api.extension.ConditionEvaluationResult;
import org.junit.jupiter.api.extension.ExecutionCondition;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.ExtensionContext;

import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;

/** Runs a test class only as root with ip, tcpdump, java and {@link #tools()} on PATH; else skips with the reason. */
@Retention(RetentionPolicy.RUNTIME)
@Target(ElementType.TYPE)
@ExtendWith(VrrpNeedsNamespaces.Condition.class)
@interface VrrpNeedsNamespaces {
    String[] tools() default {};

    final class Condition implements ExecutionCondition {
        @Override
        public ConditionEvaluationResult evaluateExecutionCondition(ExtensionContext context) {
            String[] tools = context.getTestClass()
                    .map(c -> c.getAnnotation(VrrpNeedsNamespaces.class))
                    .map(VrrpNeedsNamespaces::tools).orElse(new String[0]);
            String reason = VrrpLab.skipReason(tools);
            return reason == null ? ConditionEvaluationResult.enabled("root and tools present")
                    : ConditionEvaluationResult.disabled(reason);
        }
    }
}
