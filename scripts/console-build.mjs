/**
 * `npm run console:build` (also run by postinstall and `npm run build`): generates the
 * console's typed documents from schema.graphql (console/codegen.ts), then bundles console/
 * with Vite into dist/console-app/, which keygate serves at /console.
 *
 * Plain JavaScript for the same reason as scripts/db/generate.mjs: postinstall runs it, also
 * under `npm ci --omit=dev`, where Vite and the codegen CLI (dev dependencies) are absent.
 * There it does nothing and says nothing: a production install ships the built dist/.
 */
import { execFile } from 'node:child_process';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);

function installed(name) {
  try {
    require.resolve(`${name}/package.json`);
    return true;
  } catch {
    return false;
  }
}

async function main() {
  if (!installed('vite') || !installed('@graphql-codegen/cli')) return;
  const codegenBin = path.join(path.dirname(require.resolve('@graphql-codegen/cli/package.json')), 'esm/bin.js');
  try {
    await promisify(execFile)(process.execPath, [codegenBin, '--config', 'console/codegen.ts'], { cwd: root });
  } catch (error) {
    const { stdout = '', stderr = '' } = /** @type {{ stdout?: string; stderr?: string }} */ (error);
    throw new Error(`console codegen failed (a document no longer fits schema.graphql?):\n${stdout}${stderr}`);
  }
  const { build } = await import('vite');
  await build({ configFile: path.join(root, 'console/vite.config.ts'), logLevel: 'warn' });
}

try {
  await main();
} catch (error) {
  console.error(error instanceof Error ? error.message : error);
  process.exitCode = 1;
}
