import type { EndReason } from '../domain/decisions';
import type { ReportedWithdrawal } from '../domain/ledger-invariants';
import type { Printer, Speaker } from '../output/printer';

/** A failed operation (after retries): counted, printed, and it makes the exit code non-zero. */
export interface FailedOperation {
  project: string;
  actor: string;
  operation: string;
  error: string;
}

export class FailureTally {
  readonly failures: FailedOperation[] = [];

  constructor(
    private readonly printer: Printer,
    /** Once the run is interrupted, failures are still counted but no longer printed. */
    private readonly runSignal?: AbortSignal,
  ) {}

  async record(speaker: Speaker, operation: string, error: string): Promise<void> {
    this.failures.push({ project: speaker.project, actor: speaker.actor, operation, error });
    if (this.runSignal?.aborted) return;
    await this.printer.problem(
      `[${speaker.project} ${speaker.actor}] could not ${operation}: ${error}`,
    );
  }
}

/**
 * What the actors of one project share: whether spending is over (the first actor to see the
 * account expired or empty ends it for all, waking those who pause), and what was withdrawn.
 */
export class ProjectState {
  private readonly controller = new AbortController();
  readonly signal: AbortSignal;
  endReason: EndReason | undefined;
  readonly withdrawals: (ReportedWithdrawal & { actor: string })[] = [];
  uncertainWithdrawals = 0;

  constructor(
    /** Aborted on timeout or Ctrl-C: even an in-flight withdrawal stops retrying then. */
    readonly runSignal: AbortSignal,
  ) {
    this.signal = AbortSignal.any([runSignal, this.controller.signal]);
  }

  get over(): boolean {
    return this.signal.aborted;
  }

  end(reason: EndReason): void {
    this.endReason ??= reason;
    this.controller.abort();
  }
}
