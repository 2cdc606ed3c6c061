import { setImmediate as setImmediatePromise } from 'node:timers/promises';

export interface Queued<C, R> {
  command: C;
  resolve(result: R): void;
  reject(error: unknown): void;
}

/**
 * Group commit: commands that arrive while a write is on its way to disk wait here and go to
 * disk together with the next one (one write, one fdatasync). `drain` is called while commands
 * wait and takes them in batches; it runs one at a time per queue.
 */
export class CommitQueue<C, R> {
  private waiting: Queued<C, R>[] = [];
  private draining = false;

  constructor(private readonly drain: (queue: CommitQueue<C, R>) => Promise<void>) {}

  get length(): number {
    return this.waiting.length;
  }

  submit(command: C): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      this.waiting.push({ command, resolve, reject });
      if (!this.draining) void this.run();
    });
  }

  take(max: number): Queued<C, R>[] {
    return this.waiting.splice(0, max);
  }

  /** Waits until nothing is queued or being committed. */
  async settled(): Promise<void> {
    while (this.draining || this.waiting.length > 0) {
      if (!this.draining) await this.run();
      else await setImmediatePromise();
    }
  }

  private async run(): Promise<void> {
    this.draining = true;
    try {
      while (this.waiting.length > 0) await this.drain(this);
    } finally {
      this.draining = false;
    }
  }
}
