import { writeFileSync } from 'node:fs';
import { printRegistrySchema } from '../src/graphql/print-schema.js';

/** Writes schema.graphql from the type-graphql schema (`npm run schema`). */
writeFileSync(new URL('../schema.graphql', import.meta.url), await printRegistrySchema());
process.stdout.write('schema.graphql written\n');
