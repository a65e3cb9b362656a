import { lexicographicSortSchema, printSchema } from 'graphql';
import { buildRegistrySchema } from './schema.js';

/** The committed schema.graphql text: sorted, so the file changes only when the schema does. */
export async function printRegistrySchema(): Promise<string> {
  return `# Generated from the type-graphql schema by \`npm run schema\`. Do not edit by hand.\n\n${printSchema(lexicographicSortSchema(await buildRegistrySchema()))}\n`;
}
