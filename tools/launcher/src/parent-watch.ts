/**
 * Preloaded (`node --require`) into every process the launcher starts. The launcher opens an
 * IPC channel to each child; if the launcher dies, even by SIGKILL, the channel closes and the
 * child stops itself the graceful way (SIGTERM), so no orphan outlives a run.
 */
if (process.channel) {
  // The channel must not keep a child alive that has finished its work.
  process.channel.unref();
  process.once('disconnect', () => {
    process.kill(process.pid, 'SIGTERM');
    setTimeout(() => process.exit(1), 5_000).unref();
  });
}
