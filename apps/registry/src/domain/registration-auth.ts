import { REGISTRATION_TOKEN_PATTERN, registrationTokenFor } from '@grantline/contracts';
import { secretsEqual } from '@grantline/service-kit';

/** What a presented bearer token may be, before the type it acts for is known. */
export type Credential = 'registry-token' | 'registration-token' | 'invalid';

/**
 * Who may register, heartbeat and unregister which type (API.md, "Trust between services"):
 * REGISTRY_TOKEN acts for every type (development); a type's registration token, the HMAC of
 * the type under REGISTRY_TOKEN, acts for that type only. Every comparison is constant time.
 */
export class RegistrationAuthority {
  /** Derived tokens of types that were allowed once; bounded, since types come from bodies. */
  private readonly tokensByType = new Map<string, string>();

  constructor(private readonly registryToken: string) {}

  /** Whether a token can be a credential at all (the 401 check, before the body is read). */
  classify(presented: string): Credential {
    if (secretsEqual(presented, this.registryToken)) return 'registry-token';
    return REGISTRATION_TOKEN_PATTERN.test(presented) ? 'registration-token' : 'invalid';
  }

  /** True when `presented` may act for instances of `type`. */
  allows(presented: string, type: string): boolean {
    if (secretsEqual(presented, this.registryToken)) return true;
    const allowed = secretsEqual(presented, this.tokenOf(type));
    if (allowed) this.remember(type);
    return allowed;
  }

  private tokenOf(type: string): string {
    return this.tokensByType.get(type) ?? registrationTokenFor(this.registryToken, type);
  }

  private remember(type: string): void {
    if (this.tokensByType.has(type)) return;
    if (this.tokensByType.size >= 1_000) this.tokensByType.clear();
    this.tokensByType.set(type, registrationTokenFor(this.registryToken, type));
  }
}
