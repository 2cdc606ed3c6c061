// Imported first by main.ts: libuv reads this once, when the thread pool is first used.
// Every fdatasync occupies a pool thread until the disk answers; with libuv's default of 4 threads,
// commits to many accounts would queue behind each other.
process.env['UV_THREADPOOL_SIZE'] ??= '64';
