#!/usr/bin/env node
// Writes config/schema/*.schema.json, the JSON Schemas editors use for loadbay.yaml and dataset
// files, from the built src/config/json-schema.ts (the loader's own schemas). `npm run schemas`.
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const { PUBLISHED_SCHEMA_DIR, publishedSchemas, schemaText } = await import(pathToFileURL(path.join(root, 'dist', 'config', 'json-schema.js')).href);
const dir = path.join(root, PUBLISHED_SCHEMA_DIR);
mkdirSync(dir, { recursive: true });
for (const [name, schema] of Object.entries(publishedSchemas())) {
  writeFileSync(path.join(dir, name), schemaText(schema));
  console.log(`wrote ${path.join(PUBLISHED_SCHEMA_DIR, name)}`);
}
