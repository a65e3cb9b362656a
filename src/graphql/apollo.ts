import { ApolloServer } from '@apollo/server';
import { ApolloServerPluginCacheControlDisabled, ApolloServerPluginLandingPageDisabled } from '@apollo/server/plugin/disabled';
import type { GraphQLSchema } from 'graphql';
import type { Logger } from 'pino';
import type { GraphQLContext } from './context.js';
import { formatError, isClientError, onlyRequestErrors } from './errors.js';
import { type QueryLimits, queryLimitsRule } from './limits.js';
import { type ResponseLimits, responseBudgetPlugin, withResponseBudget } from './response-budget.js';

/** Apollo Server with the registry's error policy: client errors returned, anything else masked and logged. */
export function createApollo(schema: GraphQLSchema, opts: { development: boolean; logger: Logger; limits: QueryLimits; responseLimits: ResponseLimits }): ApolloServer<GraphQLContext> {
  return new ApolloServer<GraphQLContext>({
    schema: withResponseBudget(schema),
    csrfPrevention: true,
    allowBatchedHttpRequests: false,
    // Introspection is for authenticated callers only: the HTTP layer turns away anonymous ones.
    introspection: true,
    validationRules: [queryLimitsRule(opts.limits)],
    parseOptions: { maxTokens: opts.limits.maxTokens },
    includeStacktraceInErrorResponses: opts.development,
    logger: opts.logger,
    // Apollo's own handlers stop it and re-raise the signal (exit 143, requests cut); main.ts drains instead.
    stopOnTerminationSignals: false,
    formatError: (formatted, error) => formatError(formatted, error, { exposeDetails: opts.development }),
    plugins: [
      ApolloServerPluginLandingPageDisabled(),
      // The schema gives no cache hints, so the default cache-control plugin only cost a hook on every resolved field.
      ApolloServerPluginCacheControlDisabled(),
      responseBudgetPlugin<GraphQLContext>(opts.responseLimits),
      {
        async requestDidStart() {
          return {
            async didEncounterErrors({ errors, contextValue }) {
              if (contextValue.outcome && onlyRequestErrors(errors)) contextValue.outcome.requestErrorsOnly = true;
              for (const err of errors) {
                if (!isClientError(err)) (contextValue.log ?? opts.logger).error({ err: err.originalError ?? err, path: err.path }, 'unexpected error');
              }
            },
          };
        },
      },
    ],
  });
}
