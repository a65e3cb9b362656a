import { readFileSync } from 'node:fs';
import { ApolloServer } from '@apollo/server';
import { startStandaloneServer } from '@apollo/server/standalone';

/**
 * Ceilings: a bare Apollo Server (startStandaloneServer, no plugins, no context work).
 * `hello`: the schema `{ hello }`. `shape`: the same response shape as the registry's inference
 * query `productionModel { id artifacts { path sha256 downloadUrl { url } } }`, served from memory:
 * the object in BENCH_SHAPE_DATA (the registry's own answer, captured once) is returned as is.
 * `dashboard`: the registry's own schema (schema.graphql), each root field in the JSON file BENCH_DASHBOARD_FILE
 * (`{ modelVersions: …, deploymentHistory: …, … }`, the registry's answers captured at this size)
 * returned as is, so every dashboard query is answered with the same bytes through the same types.
 */
const mode = process.argv[2];
let typeDefs: string;
let resolvers: Record<string, Record<string, unknown>>;
if (mode === 'hello') {
  typeDefs = 'type Query { hello: String! }';
  resolvers = { Query: { hello: () => 'world' } };
} else if (mode === 'shape') {
  const data = JSON.parse(process.env.BENCH_SHAPE_DATA ?? 'null') as unknown;
  if (!data) throw new Error('BENCH_SHAPE_DATA must hold the productionModel object');
  typeDefs = `
    type PresignedUrl { url: String! }
    type Artifact { path: String! sha256: String! downloadUrl(expiresInSeconds: Int = 900): PresignedUrl }
    type ModelVersion { id: ID! artifacts: [Artifact!]! }
    type Query { productionModel(modelName: String!, environment: String = "production"): ModelVersion }`;
  resolvers = { Query: { productionModel: () => data } };
} else if (mode === 'dashboard') {
  const file = process.env.BENCH_DASHBOARD_FILE;
  if (!file) throw new Error('BENCH_DASHBOARD_FILE must name a JSON file of the answers by root field');
  const data = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
  typeDefs = readFileSync(new URL('../../schema.graphql', import.meta.url), 'utf8');
  resolvers = { Query: Object.fromEntries(Object.entries(data).map(([field, value]) => [field, () => value])) };
} else {
  throw new Error('usage: bare-apollo.ts hello|shape|dashboard');
}

const server = new ApolloServer({ typeDefs, resolvers });
const { url } = await startStandaloneServer(server, { listen: { port: 0, host: '127.0.0.1' } });
process.stdout.write(`Ceiling ready at ${url.replace(/\/$/, '')}\n`);
process.once('SIGTERM', () => {
  server.stop().then(() => process.exit(0), () => process.exit(1));
});
