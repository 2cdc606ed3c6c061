import { randomUUID } from 'node:crypto';
import type { AccountView, OpenAccountRequest } from '@grantline/contracts';
import type {
  AccountStore,
  PendingCloseout,
  TransactionsPage,
  TransactionsPageRequest,
  WithdrawalRequestData,
  WithdrawalResult,
} from '@grantline/dcu/store';

/**
 * A measuring instrument, not a store: the DCU's file store with every withdrawal answered at
 * once from memory. Accounts are opened, keys checked and accounts read by the file store as
 * in the DCU; a withdrawal writes nothing, checks no rule and moves no money (its answer gives
 * the balance unchanged). Behind the DCU's HTTP path it measures that path alone: what the
 * durable withdrawal scenarios could reach on this machine if storage cost nothing.
 */
export class AnswersFromMemory implements AccountStore {
  constructor(
    private readonly files: AccountStore,
    private readonly now: () => number = Date.now,
  ) {}

  start(): Promise<void> {
    return this.files.start();
  }

  close(): Promise<void> {
    return this.files.close();
  }

  async withdraw(accountId: string, request: WithdrawalRequestData): Promise<WithdrawalResult> {
    const { balanceCents } = await this.files.view(accountId);
    return {
      withdrawal: {
        type: 'withdrawal',
        id: randomUUID(),
        researcherId: request.researcherId,
        amountCents: request.amountCents,
        balanceAfterCents: balanceCents,
        at: new Date(this.now()).toISOString(),
        idempotencyKey: request.idempotencyKey,
        ...(request.note === undefined ? {} : { note: request.note }),
      },
      replayed: false,
    };
  }

  open(
    request: OpenAccountRequest,
  ): Promise<{ accountId: string; ownerKey: string; created: boolean }> {
    return this.files.open(request);
  }

  authenticate(accountId: string, key: string): ReturnType<AccountStore['authenticate']> {
    return this.files.authenticate(accountId, key);
  }

  exists(accountId: string): Promise<boolean> {
    return this.files.exists(accountId);
  }

  view(accountId: string): Promise<AccountView> {
    return this.files.view(accountId);
  }

  addResearcher(
    accountId: string,
    actorId: string,
    name: string,
    idempotencyKey?: string,
  ): ReturnType<AccountStore['addResearcher']> {
    return this.files.addResearcher(accountId, actorId, name, idempotencyKey);
  }

  removeResearcher(accountId: string, actorId: string, researcherId: string): Promise<void> {
    return this.files.removeResearcher(accountId, actorId, researcherId);
  }

  transactions(accountId: string, page: TransactionsPageRequest): Promise<TransactionsPage> {
    return this.files.transactions(accountId, page);
  }

  pendingCloseouts(): Promise<PendingCloseout[]> {
    return this.files.pendingCloseouts();
  }

  acknowledgeCloseout(accountId: string): Promise<void> {
    return this.files.acknowledgeCloseout(accountId);
  }
}
