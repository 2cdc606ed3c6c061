/**
 * The statements of the PostgreSQL account store's hot path, in one place, so that the
 * benchmark's pgbench run sends the very same SQL (see `pgbenchWithdrawalScript`).
 */

export const ACCOUNT_COLUMNS = `account_id, proposal_id, title, investigator, owner_id, initial_cents, balance_cents,
  duration_days, day_ms, created_at, expires_at, withdrawal_count, closed_reason, returned_cents, closed_at,
  closeout_acknowledged, version`;

export const WITHDRAWAL_COLUMNS = `seq, withdrawal_id, encode(idempotency_key_hash, 'hex') AS idempotency_key_hash,
  researcher_id, amount_cents, balance_after_cents, note, at`;

/**
 * An account ($1), its researchers, and what the caller asks for besides, in one round trip:
 * - `prior`: the withdrawal with the key digest $2 (hex);
 * - `keyholder`: the current (not removed) researcher whose key digest is the next parameter
 *   (bytea), null when that key does not open the account;
 * - `lock`: FOR UPDATE, with `seen_version` read in the statement's snapshot while `version`
 *   comes from the row itself (the newest one, after FOR UPDATE waited): see readAccount.
 */
export function readAccountSql(options: { lock: boolean; prior: boolean; keyholder: boolean }): string {
  let next = 2;
  const prior = options.prior
    ? `,
       (SELECT row_to_json(w) FROM (SELECT ${WITHDRAWAL_COLUMNS} FROM dcu_withdrawals
          WHERE account_id = a.account_id AND idempotency_key_hash = decode($${next++}, 'hex')) w) AS prior`
    : '';
  const keyholder = options.keyholder
    ? `,
       (SELECT k.researcher_id FROM dcu_researchers k
          WHERE k.account_id = a.account_id AND k.key_digest = $${next++} AND k.removed_at IS NULL) AS keyholder`
    : '';
  const seen = options.lock
    ? `,
       (SELECT version FROM dcu_accounts WHERE account_id = $1) AS seen_version`
    : '';
  return `SELECT ${ACCOUNT_COLUMNS},
       (SELECT json_agg(json_build_object('researcher_id', r.researcher_id, 'name', r.name, 'role', r.role,
                'removed', r.removed_at IS NOT NULL) ORDER BY r.position)
          FROM dcu_researchers r WHERE r.account_id = a.account_id) AS researchers${prior}${keyholder}${seen}
     FROM dcu_accounts a WHERE a.account_id = $1${options.lock ? ' FOR UPDATE OF a' : ''}`;
}

/**
 * The key check of every request with a researcher key, which also hands the withdrawal that
 * follows it the account it decides on (see PostgresAccountStore.withdraw): $1 account,
 * $2 digest of the key (bytea).
 */
export const AUTHENTICATE_SQL = readAccountSql({ lock: false, prior: false, keyholder: true });

/** A withdrawal's read when it must know the earlier withdrawal under its key: $1 account, $2 key digest (hex). */
export const READ_FOR_WITHDRAWAL_SQL = readAccountSql({ lock: false, prior: true, keyholder: false });

/** $1 account, $2 seq, $3 withdrawal id, $4 key digest (hex), $5 researcher, $6 amount, $7 balance after, $8 note, $9 at. */
export const INSERT_WITHDRAWAL_SQL = `INSERT INTO dcu_withdrawals (account_id, seq, withdrawal_id, idempotency_key_hash,
    researcher_id, amount_cents, balance_after_cents, note, at)
  VALUES ($1, $2, $3, decode($4, 'hex'), $5, $6, $7, $8, $9)`;

/** The account's totals after a change; every change bumps the version. */
export const UPDATE_ACCOUNT_SQL = `UPDATE dcu_accounts SET balance_cents = $2, withdrawal_count = $3, closed_reason = $4,
    returned_cents = $5, closed_at = $6, closeout_acknowledged = $7, version = version + 1
  WHERE account_id = $1`;

/**
 * A withdrawal's whole write in one statement (one round trip, its own transaction): the
 * account's totals after it, only if the account is still at the version the decision was
 * made on ($8), and the withdrawal's row only if that update happened. Zero rows inserted
 * says another change came first: read and decide again.
 * $1 account, $2 balance after, $3 seq (= withdrawal count), $4 closed reason, $5 returned,
 * $6 closed at, $7 closeout acknowledged, $8 version read, $9 withdrawal id, $10 key digest
 * (hex), $11 researcher, $12 amount, $13 note, $14 at.
 */
export const WITHDRAW_SQL = `WITH changed AS (
    UPDATE dcu_accounts SET balance_cents = $2, withdrawal_count = $3, closed_reason = $4, returned_cents = $5,
        closed_at = $6, closeout_acknowledged = $7, version = version + 1
      WHERE account_id = $1 AND version = $8
      RETURNING account_id)
  INSERT INTO dcu_withdrawals (account_id, seq, withdrawal_id, idempotency_key_hash, researcher_id, amount_cents,
      balance_after_cents, note, at)
    SELECT account_id, $3, $9, decode($10, 'hex'), $11, $12, $2, $13, $14 FROM changed`;

/**
 * A pgbench script doing what the DCU does for one withdrawal of `amountCents` by the
 * researcher whose key digest is `keyDigestHex`, in the common case: the key check (which
 * reads the account), then the one-statement conditional write on the version read; the same
 * statements, with pgbench variables where the store binds parameters (a fresh random
 * Idempotency-Key each time).
 */
export function pgbenchWithdrawalScript(
  accountId: string,
  researcherId: string,
  keyDigestHex: string,
  amountCents: number,
): string {
  const literal = (text: string) => `'${text.replace(/'/g, "''")}'`;
  const idempotencyDigest = "encode(sha256((:key)::text::bytea), 'hex')";
  const bind = (sql: string, values: string[]) =>
    sql.replace(/\$(\d+)/g, (_, index: string) => values[Number(index) - 1]!).replace(/\s+/g, ' ').trim();
  return [
    '\\set key random(1, 9000000000000000000)',
    `${bind(AUTHENTICATE_SQL, [literal(accountId), `decode(${literal(keyDigestHex)}, 'hex')`])} \\gset`,
    `\\set seq :withdrawal_count + 1`,
    `\\set balance :balance_cents - ${amountCents}`,
    `${bind(WITHDRAW_SQL, [
      literal(accountId),
      ':balance',
      ':seq',
      'NULL',
      'NULL',
      'NULL',
      'false',
      ':version',
      'gen_random_uuid()',
      idempotencyDigest,
      literal(researcherId),
      String(amountCents),
      'NULL',
      'now()',
    ])};`,
    '',
  ].join('\n');
}
