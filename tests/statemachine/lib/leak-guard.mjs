// Preloaded into every test file's process (package.json's test script, `--import`). Once a file's tests are done,
// nothing should keep its process alive: a child process, socket or timer left open would make the runner wait
// for ever. Rather than end the process early (which loses the results not yet written to the runner), this
// waits a grace period with an unreferenced timer, which never keeps the process alive by itself; if the process
// is still there when it fires, it names what is still open and fails the file.
import { after } from 'node:test';

// LEAK_GRACE_MS: for the guard's own test.
const GRACE_MS = Number(process.env.LEAK_GRACE_MS ?? 60_000);

after(() => {
  setTimeout(() => {
    const open = process.getActiveResourcesInfo();
    process.stderr.write(
      `leak-guard: ${process.argv[1]} still has open handles ${GRACE_MS / 1000} s after its tests: ${open.join(', ')}\n`,
    );
    process.exit(1);
  }, GRACE_MS).unref();
});
