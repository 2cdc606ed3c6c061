import { hostname } from 'node:os';
import { randomUUID } from 'node:crypto';
import type { AcceptedProposal, ProposalResponse } from '@grantline/contracts';
import { openDcuAccount, type OpenAccountOptions, type OpenAccountOutcome } from './dcu/open-account';
import { AgencyRefusal, type ProposalRecord, type ProposalTerms } from './domain/funding';
import { DcuFailedError, DcuUnavailableError } from './errors';
import type { AgencyStore } from './storage/store';

export interface FunderOptions extends OpenAccountOptions {
  store: AgencyStore;
  /** null: unlimited. */
  budgetCents: number | null;
  /** The one clock. */
  now?: () => Date;
  /** Names this process in the reservations it makes; default host:pid:random. */
  owner?: string;
  /**
   * A reservation untouched for this long, whose owner may still be alive, is finished by
   * whichever instance looks next. Default: the DCU deadline plus one attempt plus 5 s.
   */
  staleAfterMs?: number;
  log?: { info(obj: object, msg: string): void; warn(obj: object, msg: string): void; error(obj: object, msg: string): void };
}

const RETRY_WITH_KEY = 'Retry with the same Idempotency-Key.';
const RETRY_WITHOUT_KEY =
  'Retry, and send an Idempotency-Key header so that a retry can never open a second account.';
const KEPT =
  'The agency keeps the amount reserved and finishes opening the account by itself; send the same ' +
  'proposal with the same Idempotency-Key to receive it.';

export interface SubmitContext {
  /** Whether the client sent an Idempotency-Key (the messages say how to retry safely). */
  withKey: boolean;
  /** Passed on to the DCU, so its log lines carry the proposal's request id. */
  requestId?: string;
}

export interface Submitted {
  answer: ProposalResponse;
  /** The decision was on record already: this answer repeats it. */
  replay: boolean;
}

/** `host:pid:nonce`; the pid lets another instance on the host see that the owner died. */
export function processOwnerId(): string {
  return `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
}

/**
 * The agency's procedure around the pure rules: decide and reserve (durably) before asking a
 * DCU, then confirm, or release only when no DCU can have opened the account; and the
 * recovery that finishes reservations their owner left unconfirmed (killed, or a DCU failed).
 */
export class Funder {
  readonly owner: string;
  private readonly now: () => Date;
  private readonly staleAfterMs: number;

  constructor(private readonly options: FunderOptions) {
    this.owner = options.owner ?? processOwnerId();
    this.now = options.now ?? (() => new Date());
    this.staleAfterMs = options.staleAfterMs ?? (options.deadlineMs ?? 15_000) + (options.timeoutMs ?? 5_000) + 5_000;
  }

  get budgetCents(): number | null {
    return this.options.budgetCents;
  }

  /** POST /proposals. Throws AgencyRefusal, DcuUnavailableError, DcuFailedError, StorageUnavailableError. */
  async submit(proposalId: string, terms: ProposalTerms, request: SubmitContext, round = 0): Promise<Submitted> {
    const { withKey } = request;
    const { store } = this.options;
    const result = await store.execute({
      type: 'submit',
      proposalId,
      terms,
      totalCents: this.options.budgetCents,
      owner: this.owner,
      now: this.now().toISOString(),
    });
    let record = result.proposal;
    const replay = result.outcome === 'repeat';
    if (record.status === 'rejected') {
      return { answer: { proposalId, status: 'rejected', reason: record.reason ?? 'rejected' }, replay };
    }
    let attempt = record.attempts ?? 1;
    if (result.outcome === 'repeat' && record.status === 'pending') {
      try {
        record = (await store.execute({ type: 'claim', proposalId, owner: this.owner, now: this.now().toISOString() })).proposal;
        attempt = record.attempts ?? attempt;
      } catch (error) {
        if (!(error instanceof AgencyRefusal) || error.reason !== 'not-pending') throw error;
        // Confirmed or released by its twin in the meantime: answer from what is on record now.
        const now = await store.proposal(proposalId);
        if (now === undefined || now.status === 'released') {
          if (round >= 3) throw new DcuUnavailableError(`The proposal is being decided by another request right now. ${RETRY_WITH_KEY}`);
          return this.submit(proposalId, terms, request, round + 1);
        }
        record = now;
      }
    }
    const outcome = await openDcuAccount(
      { proposalId, ...terms },
      { ...this.options, ...(request.requestId === undefined ? {} : { requestId: request.requestId }) },
    );
    const retry = withKey ? RETRY_WITH_KEY : RETRY_WITHOUT_KEY;
    switch (outcome.kind) {
      case 'opened':
        if (record.status === 'pending') await this.confirm(record, outcome);
        this.options.log?.info({ proposalId, accountId: outcome.accountId, dcuUrl: outcome.dcuUrl }, 'proposal accepted; account opened');
        return { answer: accepted(proposalId, outcome), replay };
      case 'conflict':
        if (record.status === 'pending') await this.release(record, attempt, 'The DCU holds another proposal under this id.');
        this.options.log?.warn({ proposalId, dcuUrl: outcome.dcuUrl }, 'the DCU knows this proposal id with other terms');
        throw new AgencyRefusal(
          'key-reused',
          'The DCU already holds a different proposal under this proposal id (its Idempotency-Key was used for ' +
            'other terms), so nothing was created. Use a new key for a new proposal.',
        );
      case 'unavailable':
      case 'failed': {
        const released =
          result.outcome === 'created' && attempt === 1 && !outcome.mayHaveOpened &&
          (await this.release(record, 1, `No DCU could open the account: ${outcome.kind}.`));
        if (outcome.kind === 'unavailable') {
          this.options.log?.warn({ proposalId, detail: outcome.detail, released }, 'no DCU instance reachable');
          throw new DcuUnavailableError(
            released || record.status !== 'pending'
              ? `No DCU instance can be reached right now; nothing was created. ${retry}`
              : `No DCU instance can be reached right now. ${KEPT}`,
          );
        }
        this.options.log?.error({ proposalId, problem: outcome.problem, released, ...outcome.detail }, 'opening the account failed');
        throw new DcuFailedError(
          `${failureMessage(outcome)} ${released || record.status !== 'pending' ? `Nothing was created. ${retry}` : KEPT}`,
        );
      }
    }
  }

  /**
   * One pass of recovery: every reservation whose owner died, or that nobody touched for
   * `staleAfterMs`, is claimed and its account opened (safe to repeat: the DCU answers the
   * same proposalId with the same account), then confirmed. Several instances may do this at
   * once: the DCU opens one account, and a second confirmation is a repeat that counts nothing.
   */
  async recoverOnce(): Promise<{ finished: number; released: number; left: number }> {
    const tally = { finished: 0, released: 0, left: 0 };
    const now = this.now().getTime();
    for (const record of await this.options.store.unconfirmed()) {
      const idleMs = now - Date.parse(record.lastAttemptAt ?? record.decidedAt);
      if (idleMs < this.staleAfterMs && !ownerIsGone(record.owner, this.owner)) continue;
      const outcome = await this.finish(record);
      tally[outcome] += 1;
    }
    return tally;
  }

  private async finish(stale: ProposalRecord): Promise<'finished' | 'released' | 'left'> {
    const { proposalId, terms } = stale;
    let record: ProposalRecord;
    try {
      record = (await this.options.store.execute({ type: 'claim', proposalId, owner: this.owner, now: this.now().toISOString() })).proposal;
    } catch (error) {
      if (error instanceof AgencyRefusal) return 'finished'; // confirmed or released meanwhile
      throw error;
    }
    const outcome = await openDcuAccount({ proposalId, ...terms }, this.options);
    if (outcome.kind === 'opened') {
      await this.confirm(record, outcome);
      this.options.log?.info({ proposalId, accountId: outcome.accountId }, 'recovery: reservation finished, account confirmed');
      return 'finished';
    }
    if (outcome.kind === 'conflict') {
      const released = await this.release(record, record.attempts ?? 1, 'The DCU holds another proposal under this id.');
      this.options.log?.warn({ proposalId }, 'recovery: the DCU knows this proposal id with other terms; reservation released');
      return released ? 'released' : 'finished';
    }
    this.options.log?.warn({ proposalId, kind: outcome.kind }, 'recovery: account not opened yet; will try again');
    return 'left';
  }

  private async confirm(record: ProposalRecord, opened: Extract<OpenAccountOutcome, { kind: 'opened' }>): Promise<void> {
    try {
      await this.options.store.execute({
        type: 'confirm',
        proposalId: record.proposalId,
        accountId: opened.accountId,
        dcuUrl: opened.dcuUrl,
        now: this.now().toISOString(),
      });
    } catch (error) {
      // Closed meanwhile with this account (a closeout confirms too): nothing left to do.
      if (error instanceof AgencyRefusal && error.reason !== 'account-mismatch') return;
      throw error;
    }
  }

  /** Gives the money back; false when a later attempt began (and may have opened the account). */
  private async release(record: ProposalRecord, attempt: number, reason: string): Promise<boolean> {
    try {
      await this.options.store.execute({ type: 'release', proposalId: record.proposalId, attempt, reason, now: this.now().toISOString() });
      return true;
    } catch (error) {
      if (error instanceof AgencyRefusal) return false;
      throw error;
    }
  }
}

function accepted(proposalId: string, opened: Extract<OpenAccountOutcome, { kind: 'opened' }>): AcceptedProposal {
  return { proposalId, status: 'accepted', accountId: opened.accountId, ownerKey: opened.ownerKey, dcuUrl: opened.dcuUrl };
}

/** True when the owner was a process on this host that no longer runs. */
function ownerIsGone(owner: string | undefined, self: string): boolean {
  if (owner === undefined || owner === self) return false;
  const [host, pidText] = owner.split(':');
  const pid = Number(pidText);
  if (host !== hostname() || !Number.isSafeInteger(pid) || pid <= 0) return false;
  if (pid === process.pid) return false; // another agency in this very process (tests)
  try {
    process.kill(pid, 0);
    return false;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

function failureMessage(outcome: Extract<OpenAccountOutcome, { kind: 'failed' }>): string {
  switch (outcome.problem) {
    case 'refused-credentials':
      return "The DCU refused the agency's credentials, so no account could be opened; the problem is on our side and has been logged.";
    case 'bad-answer':
      return 'The DCU answered with something that is not an account, so the agency cannot confirm one was opened; the problem has been logged.';
    case 'uncertain':
      return 'The connection to the DCU broke mid-request, so whether an account was opened is unknown; the problem has been logged.';
    case 'error-status':
    case 'transport':
      return 'The DCU failed to open the account; the problem has been logged.';
  }
}
