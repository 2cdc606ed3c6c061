import { randomUUID } from 'node:crypto';
import { FileAccountStore } from '@grantline/dcu/file-store';
import type { WithdrawalRequestData, WithdrawalResult } from '@grantline/dcu/store';

/**
 * A measuring instrument, not a store: the DCU's file store with every withdrawal answered at
 * once from memory. Accounts are opened, keys checked and accounts read as in the DCU; a
 * withdrawal writes nothing, checks no rule and moves no money (its answer gives the balance
 * unchanged). Behind the DCU's HTTP path it measures that path alone: what the durable
 * withdrawal scenarios could reach on this machine if storage cost nothing.
 */
export class FileStoreAnsweringFromMemory extends FileAccountStore {
  override async withdraw(
    accountId: string,
    request: WithdrawalRequestData,
  ): Promise<WithdrawalResult> {
    const { balanceCents } = await this.view(accountId);
    return {
      withdrawal: {
        type: 'withdrawal',
        id: randomUUID(),
        researcherId: request.researcherId,
        amountCents: request.amountCents,
        balanceAfterCents: balanceCents,
        at: new Date().toISOString(),
        idempotencyKey: request.idempotencyKey,
        ...(request.note === undefined ? {} : { note: request.note }),
      },
      replayed: false,
    };
  }
}
