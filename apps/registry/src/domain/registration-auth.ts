import { REGISTRATION_TOKEN_PATTERN, registrationTokenFor } from '@grantline/contracts';
import { secretsEqual } from '@grantline/service-kit';

/** What a presented bearer token may be, before the type it acts for is known. */
export type Credential = 'registry-token' | 'registration-token' | 'invalid';

/** What a verified token acts for: every type (REGISTRY_TOKEN) or the one type it was derived for. */
const EVERY_TYPE = Symbol('every type');
type Scope = typeof EVERY_TYPE | string;

/** More than the types any deployment runs; a full cache is emptied, never grown. */
const MAX_VERIFIED = 1_000;

/**
 * Who may register, heartbeat and unregister which type (API.md, "Trust between services"):
 * REGISTRY_TOKEN acts for every type (development); a type's registration token, the HMAC of
 * the type under REGISTRY_TOKEN, acts for that type only. Every comparison is constant time.
 *
 * A token that was verified once is remembered (exact string to what it acts for), because
 * 10,000 instances heartbeating every second would otherwise cost four to six SHA-256 digests
 * a heartbeat. Only tokens that passed the constant-time check enter the map, so a lookup hits
 * only on the exact string of a real credential; anything else misses and is checked as
 * before. A miss and a hit differ in time, but that tells a caller only whether its token is
 * valid, which the answer says anyway.
 */
export class RegistrationAuthority {
  /** Derived tokens of types that were allowed once; bounded, since types come from bodies. */
  private readonly tokensByType = new Map<string, string>();
  /** Presented tokens already verified, and what each acts for; bounded by MAX_VERIFIED. */
  private readonly verified = new Map<string, Scope>();

  constructor(private readonly registryToken: string) {}

  /** Whether a token can be a credential at all (the 401 check, before the body is read). */
  classify(presented: string): Credential {
    const scope = this.verified.get(presented);
    if (scope !== undefined) return scope === EVERY_TYPE ? 'registry-token' : 'registration-token';
    if (secretsEqual(presented, this.registryToken)) {
      this.remember(presented, EVERY_TYPE);
      return 'registry-token';
    }
    return REGISTRATION_TOKEN_PATTERN.test(presented) ? 'registration-token' : 'invalid';
  }

  /** True when `presented` may act for instances of `type`. */
  allows(presented: string, type: string): boolean {
    const scope = this.verified.get(presented);
    if (scope === EVERY_TYPE || scope === type) return true;
    // A verified token of another type: the HMACs of two types differ, so it cannot be this one's.
    if (scope !== undefined) return false;
    if (secretsEqual(presented, this.registryToken)) {
      this.remember(presented, EVERY_TYPE);
      return true;
    }
    const expected = this.tokenOf(type);
    const allowed = secretsEqual(presented, expected);
    if (allowed) {
      this.remember(presented, type);
      if (this.tokensByType.size >= MAX_VERIFIED) this.tokensByType.clear();
      this.tokensByType.set(type, expected);
    }
    return allowed;
  }

  /** How many verified tokens are remembered (for tests of the bound). */
  get verifiedCount(): number {
    return this.verified.size;
  }

  /** The registration token of `type`: derived again unless a token of that type was verified. */
  private tokenOf(type: string): string {
    return this.tokensByType.get(type) ?? registrationTokenFor(this.registryToken, type);
  }

  private remember(presented: string, scope: Scope): void {
    if (this.verified.size >= MAX_VERIFIED) this.verified.clear();
    this.verified.set(presented, scope);
  }
}
