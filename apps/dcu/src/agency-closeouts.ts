import { answerChecker, CloseoutReceipt, type CloseoutRequest } from '@grantline/contracts';
import type { RegistryClient } from '@grantline/registry-client';
import type { SendCloseout } from './plugins/closeouts';

/**
 * POST /closeouts on any agency instance, found through the registry, with the service token.
 * The Idempotency-Key lets the client try another agency when one fails mid-call; the agency
 * counts a closeout once in any case. 201 (first time) and 200 (a repeat) both acknowledge it.
 */
export function closeoutsToAgency(registry: () => RegistryClient, serviceToken: string): SendCloseout {
  return async (closeout) => {
    const body: CloseoutRequest = {
      proposalId: closeout.proposalId,
      accountId: closeout.accountId,
      returnedCents: closeout.returnedCents,
    };
    const response = await registry().call('agency', {
      method: 'POST',
      path: '/closeouts',
      headers: { authorization: `Bearer ${serviceToken}` },
      body,
      idempotencyKey: `closeout:${closeout.accountId}`,
      deadlineMs: 10_000,
      // An acknowledgement counts only as a receipt of this very closeout (else: another agency).
      check: (answer) => (answer.statusCode === 200 || answer.statusCode === 201 ? receiptProblem(answer.body, body) : undefined),
    });
    if (response.statusCode === 200 || response.statusCode === 201) return true;
    throw new Error(`the agency answered ${response.statusCode} to the closeout: ${(JSON.stringify(response.body) ?? '').slice(0, 300)}`);
  };
}

const receipt = answerChecker(CloseoutReceipt);

/** Why an agency's acknowledgement is not a receipt of `sent`, or undefined. */
function receiptProblem(answer: unknown, sent: CloseoutRequest): string | undefined {
  const problems = receipt.problems(answer);
  if (problems !== undefined) return `not a closeout receipt (${problems})`;
  const { proposalId, accountId, returnedCents } = answer as CloseoutReceipt;
  const sameId = (a: string, b: string) => a.toLowerCase() === b.toLowerCase();
  const same = sameId(proposalId, sent.proposalId) && sameId(accountId, sent.accountId) && returnedCents === sent.returnedCents;
  return same ? undefined : 'a receipt of another closeout';
}
