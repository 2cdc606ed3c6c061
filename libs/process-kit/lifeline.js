/**
 * Preloaded (`node --require`) into a child started with `stopWithParent`: the parent opens an
 * IPC channel to it; if the parent dies, even by SIGKILL, the channel closes and the child
 * stops itself the graceful way (SIGTERM), so no orphan outlives its parent. Plain JavaScript
 * at the package root, so the same file serves the sources (tests) and the build.
 */
if (process.channel) {
  // The channel must not keep a child alive that has finished its work.
  process.channel.unref();
  process.once('disconnect', () => {
    process.kill(process.pid, 'SIGTERM');
    setTimeout(() => process.exit(1), 5_000).unref();
  });
}
