// The functions' clock. The emulator's clock is virtual (frozen, moved by the harness); the real Lambda binaries read
// the operating system's clock. Where a function's answer depends on "now" (a run's cost is priced up to now, a
// budget is checked against it, a lock's lease and the reconciler's ages are measured from it), the two must agree, or
// a test passes here that computes nonsense on AWS. So every function process runs under libfaketime (Debian's
// faketime package, which scripts/setup.sh installs): the library is preloaded and answers the process's wall-clock
// reads from a file that the harness rewrites whenever virtual time moves. The binaries are the ones deployed,
// unchanged; their monotonic clock (timeouts, the SDK's retry pauses) stays real.
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Where Debian's libfaketime package puts its thread-safe library, per Node architecture. */
const MULTIARCH = { x64: 'x86_64-linux-gnu', arm64: 'aarch64-linux-gnu' };

export function faketimeLibrary() {
  const candidates = [process.env.DFR_FAKETIME_LIBRARY, `/usr/lib/${MULTIARCH[process.arch]}/faketime/libfaketimeMT.so.1`].filter(Boolean);
  const found = candidates.find((path) => existsSync(path));
  if (!found) {
    throw new Error(
      'libfaketime not found (the functions run on the harness\'s virtual clock through it): run `sh tests/statemachine/scripts/setup.sh`, which installs Debian\'s faketime package, or set DFR_FAKETIME_LIBRARY',
    );
  }
  return found;
}

/** `epochSeconds` as libfaketime's absolute, frozen timestamp (UTC, to the millisecond). */
export function faketimeStamp(epochSeconds) {
  return new Date(Math.round(epochSeconds * 1000)).toISOString().replace('T', ' ').replace('Z', '');
}

export class FunctionClock {
  constructor() {
    this.dir = mkdtempSync(join(tmpdir(), 'dfr-clock-'));
    this.file = join(this.dir, 'now');
    this.library = faketimeLibrary();
  }

  /** Every function process reads `epochSeconds` as the time from now on (its next clock read). */
  set(epochSeconds) {
    writeFileSync(this.file, `${faketimeStamp(epochSeconds)}\n`);
  }

  /** The environment a function process needs to read this clock. TZ is what Lambda sets. */
  environment() {
    return {
      LD_PRELOAD: this.library,
      FAKETIME_TIMESTAMP_FILE: this.file,
      FAKETIME_NO_CACHE: '1',
      DONT_FAKE_MONOTONIC: '1',
      TZ: ':UTC',
    };
  }

  close() {
    rmSync(this.dir, { recursive: true, force: true });
  }
}
