import { randomUUID } from 'node:crypto';
import { appendFile, readFile } from 'node:fs/promises';
import { crc32 } from 'node:zlib';

/**
 * Grows an account's ledger to a long history without spending minutes on HTTP: appends
 * `count` withdrawals of 1 cent in the DCU's documented record format (README, "How the DCU
 * keeps money safe": a JSON line naming its offset `o`, with a CRC-32 `sum` of its bytes).
 * Written here from the format, not with the DCU's own code; run while no DCU has the folder.
 */
export async function appendWithdrawals(ledgerPath: string, count: number, at = new Date()): Promise<void> {
  const existing = await readFile(ledgerPath);
  const lines = existing.toString('utf8').trimEnd().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
  const opened = lines[0] as { ownerId: string; initialCents: number };
  let balanceCents = opened.initialCents;
  for (const line of lines) if (line['type'] === 'withdrawal') balanceCents = line['balanceAfterCents'] as number;
  let offset = existing.length;
  const out: string[] = [];
  const prefix = randomUUID().slice(0, 8);
  for (let index = 0; index < count; index++) {
    balanceCents -= 1;
    const body = JSON.stringify({
      o: offset,
      type: 'withdrawal',
      id: randomUUID(),
      researcherId: opened.ownerId,
      amountCents: 1,
      balanceAfterCents: balanceCents,
      at: at.toISOString(),
      idempotencyKey: `history-${prefix}-${index}`,
    });
    const line = `${body.slice(0, -1)},"sum":"${crc32(body).toString(16).padStart(8, '0')}"}\n`;
    out.push(line);
    offset += Buffer.byteLength(line);
  }
  await appendFile(ledgerPath, out.join(''));
}
