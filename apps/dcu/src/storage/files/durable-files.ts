import { randomBytes } from 'node:crypto';
import { open, link, readdir, rename, stat, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

/** Suffix of every temp file, so a start-up sweep can find the ones a killed writer left. */
export const TEMP_SUFFIX = '.tmp';

function tempPathFor(path: string): string {
  return join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(4).toString('hex')}${TEMP_SUFFIX}`);
}

/** Makes a rename, link or unlink in `directory` survive a power cut. */
export async function fsyncDirectory(directory: string): Promise<void> {
  const handle = await open(directory, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** A file's contents, or its parts in order (written one after another, never joined in memory). */
type FileContents = string | Buffer | readonly Buffer[];

async function writeTempFile(path: string, contents: FileContents, durable = true): Promise<string> {
  const tempPath = tempPathFor(path);
  const handle = await open(tempPath, 'wx', 0o600);
  try {
    // Each writeFile on a handle continues where the last one ended.
    for (const part of typeof contents === 'string' || Buffer.isBuffer(contents) ? [contents] : contents) await handle.writeFile(part);
    if (durable) await handle.sync();
  } catch (error) {
    await handle.close();
    await unlink(tempPath).catch(() => undefined);
    throw error;
  }
  await handle.close();
  return tempPath;
}

/**
 * Replaces `path` with `contents` so that after a crash at any instant the file holds either
 * the old or the new contents in full: temp file, fsync, rename, fsync the folder.
 * `durable: false` (for files nothing is recovered from, such as an account's snapshot) skips
 * both fsyncs: readers still see the old or the new file whole, and a process killed at any
 * instant leaves one of them; only a power cut may leave it older, or on some file systems
 * empty.
 */
export async function replaceFileAtomically(path: string, contents: FileContents, options: { durable?: boolean } = {}): Promise<void> {
  const durable = options.durable ?? true;
  const tempPath = await writeTempFile(path, contents, durable);
  try {
    await rename(tempPath, path);
  } catch (error) {
    await unlink(tempPath).catch(() => undefined);
    throw error;
  }
  if (durable) await fsyncDirectory(dirname(path));
}

/**
 * Creates `path` with `contents` only if it does not exist yet, atomically: the file appears
 * complete or not at all. Returns false when it already existed (and leaves it untouched).
 */
export async function createFileExclusively(path: string, contents: string): Promise<boolean> {
  const tempPath = await writeTempFile(path, contents);
  try {
    await link(tempPath, path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  } finally {
    await unlink(tempPath).catch(() => undefined);
  }
  await fsyncDirectory(dirname(path));
  return true;
}

/** Removes temp files older than `olderThanMs`: what writers killed mid-write left behind. */
export async function removeAbandonedTempFiles(directory: string, olderThanMs: number): Promise<number> {
  let removed = 0;
  const cutoff = Date.now() - olderThanMs;
  for (const name of await readdir(directory)) {
    if (!name.startsWith('.') || !name.endsWith(TEMP_SUFFIX)) continue;
    const path = join(directory, name);
    try {
      if ((await stat(path)).mtimeMs < cutoff) {
        await unlink(path);
        removed += 1;
      }
    } catch {
      // another instance removed it first
    }
  }
  return removed;
}
