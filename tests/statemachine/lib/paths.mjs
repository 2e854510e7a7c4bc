// Where things are: the repository root, the state machine definitions, the built binaries.
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
export const statemachineDir = join(repoRoot, 'statemachine');
export const examplesDir = join(repoRoot, 'examples');
export const testsDir = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/**
 * A binary of this workspace: target/<profile>/<name>. DFR_PROFILE picks the profile (debug by
 * default, what `cargo build --bins` makes); CARGO_TARGET_DIR is honoured like cargo does.
 */
export function binary(name) {
  const targetDir = process.env.CARGO_TARGET_DIR ? resolve(repoRoot, process.env.CARGO_TARGET_DIR) : join(repoRoot, 'target');
  const profiles = process.env.DFR_PROFILE ? [process.env.DFR_PROFILE] : ['debug', 'release'];
  for (const profile of profiles) {
    const path = join(targetDir, profile, name);
    if (existsSync(path)) return path;
  }
  throw new Error(
    `${name}: no binary in ${profiles.map((p) => join(targetDir, p)).join(' or ')}; build it first: cargo build --workspace --bins`,
  );
}

/** moto_server from tests/statemachine/.venv (scripts/setup.sh installs it), or MOTO_SERVER. */
export function motoServer() {
  const candidates = [process.env.MOTO_SERVER, join(testsDir, '.venv', 'bin', 'moto_server')].filter(Boolean);
  for (const path of candidates) {
    if (existsSync(path)) return path;
  }
  throw new Error('moto_server not found: run `npm run setup --prefix tests/statemachine` (installs requirements.txt into tests/statemachine/.venv)');
}
