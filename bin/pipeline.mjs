#!/usr/bin/env node
// Entry point of `npx pipeline`: reuses (or makes) the esbuild bundle of pipeline.ts, then runs it.
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { ensureBundle } from '../engine/keys/compile.mjs';

const packageRoot = dirname(dirname(fileURLToPath(import.meta.url)));
const buildDir = join(packageRoot, '.build');
const bundle = await ensureBundle(join(packageRoot, 'pipeline.ts'), { buildDir, root: packageRoot, bundlePackages: true });
const cli = await import(pathToFileURL(bundle.file).href);
const code = await cli.main(process.argv.slice(2), { packageRoot, buildDir });
// Exit explicitly once main returns: a worker thread or timer left behind by a failure must not
// keep the process alive after the error was printed. Flush both streams first.
const flushed = (stream) => new Promise((resolve) => stream.write('', () => resolve()));
await Promise.all([flushed(process.stdout), flushed(process.stderr)]);
process.exit(code);
