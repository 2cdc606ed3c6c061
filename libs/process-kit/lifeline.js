/**
 * Preloaded (`node --require`) into a child started with `stopWithParent`: the parent opens an
 * IPC channel to it; if the parent dies, even by SIGKILL, the channel closes and the child
 * stops itself the graceful way (SIGTERM), so no orphan outlives its parent. Plain JavaScript
 * at the package root, so the same file serves the sources (tests) and the build.
 */
const { spawn } = require('node:child_process');

const GRACE_MS = 5_000;
const WATCHDOG_MS = 8_000;

if (process.channel) {
  // The channel must not keep a child alive that has finished its work.
  process.channel.unref();
  process.once('disconnect', () => {
    // A separate process as the last resort: a DCU was seen hanging in its exit with the main
    // thread in a futex wait, where no timer of its own can run any more.
    const watchdog = spawn(
      process.execPath,
      [
        '-e',
        `setTimeout(() => { try { process.kill(${process.pid}, 'SIGKILL'); } catch {} }, ${WATCHDOG_MS});`,
      ],
      { detached: true, stdio: 'ignore' },
    );
    watchdog.unref();
    process.kill(process.pid, 'SIGTERM');
    setTimeout(() => process.exit(1), GRACE_MS).unref();
  });
}
