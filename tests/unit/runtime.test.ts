/**
 * One Node version for the whole project: `.nvmrc` names the major, and package.json's `engines`,
 * the `node` devDependency (the binary `npm test` and `npm start` run on: npm scripts put
 * node_modules/.bin first on PATH), the Dockerfile and CI agree with it.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { PROJECT_ROOT } from '../helpers/env.js';

const read = (name: string): string => readFileSync(path.join(PROJECT_ROOT, name), 'utf8');
const nvmrcMajor = Number(read('.nvmrc').trim().replace(/^v/, '').split('.')[0]);
const pkg = JSON.parse(read('package.json')) as {
  engines: { node: string };
  devDependencies: Record<string, string>;
  allowScripts: Record<string, boolean>;
};

test(`the tests run on the Node of .nvmrc (running ${process.version})`, () => {
  expect(Number.isInteger(nvmrcMajor)).toBe(true);
  expect(Number(process.versions.node.split('.')[0])).toBe(nvmrcMajor);
});

test('engines, the node devDependency, the Dockerfile and CI name the same major', () => {
  expect(pkg.engines.node).toMatch(new RegExp(`^>=${nvmrcMajor}\\.`));
  expect(pkg.devDependencies['node']).toMatch(new RegExp(`^\\^${nvmrcMajor}\\.`));
  // npm 11 runs a dependency's install script only once package.json approves it; `node`'s fetches the binary.
  expect(pkg.allowScripts['node']).toBe(true);
  const froms = [...read('Dockerfile').matchAll(/^FROM node:(\d+)[.\-]/gm)].map((m) => Number(m[1]));
  expect(froms.length).toBeGreaterThan(0);
  expect(new Set(froms)).toEqual(new Set([nvmrcMajor]));
  expect(read('.ci/run')).toMatch(/npm ci && .*npm test/);
});
