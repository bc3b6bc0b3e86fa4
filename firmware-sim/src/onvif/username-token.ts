import { createHash, timingSafeEqual } from 'node:crypto';
import { find, textAt, type XmlElement } from './xml-reader.js';

export type TokenCheck = { ok: true; user: string } | { ok: false; why: string };

/**
 * Verifies WS-Security UsernameToken PasswordDigest headers the way cameras do:
 * digest = Base64(SHA1(nonce + Created + password)), Created within `windowMs` of the camera's own
 * clock (which may be wrong: that is what clients must correct for), and each nonce accepted once
 * unless `rejectReplays` is off, as on cameras that keep no nonce cache.
 */
export class UsernameTokenVerifier {
  private readonly seenNonces = new Map<string, number>();

  constructor(
    private readonly users: ReadonlyMap<string, string>,
    private readonly now: () => number,
    private readonly windowMs: number,
    private readonly rejectReplays = true,
  ) {}

  check(envelope: XmlElement): TokenCheck {
    const token = find(find(envelope, 'Header'), 'UsernameToken');
    if (!token) return { ok: false, why: 'no WS-Security UsernameToken' };
    const user = textAt(token, 'Username') ?? '';
    const passwordElement = find(token, 'Password');
    const nonce = textAt(token, 'Nonce') ?? '';
    const created = textAt(token, 'Created') ?? '';
    const password = this.users.get(user);
    if (password === undefined || !passwordElement) return { ok: false, why: 'unknown user or no password' };
    if (!(passwordElement.attrs.Type ?? '').endsWith('#PasswordDigest')) return { ok: false, why: 'only PasswordDigest is accepted' };
    const createdMs = Date.parse(created);
    if (!Number.isFinite(createdMs)) return { ok: false, why: 'Created is not a timestamp' };
    const skew = createdMs - this.now();
    if (Math.abs(skew) > this.windowMs) return { ok: false, why: `Created is ${Math.round(skew / 1000)} s away from the camera's clock` };
    const nonceBytes = Buffer.from(nonce, 'base64');
    const expected = createHash('sha1').update(Buffer.concat([nonceBytes, Buffer.from(created), Buffer.from(password)])).digest();
    const given = Buffer.from(passwordElement.text, 'base64');
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return { ok: false, why: 'wrong password digest' };
    if (!this.rejectReplays) return { ok: true, user };
    this.forgetOldNonces();
    if (this.seenNonces.has(nonce)) return { ok: false, why: 'nonce already used' };
    this.seenNonces.set(nonce, this.now());
    return { ok: true, user };
  }

  private forgetOldNonces(): void {
    // A nonce older than the window cannot come back with an acceptable Created anyway.
    const horizon = this.now() - 2 * this.windowMs;
    for (const [nonce, at] of this.seenNonces) {
      if (at >= horizon) break;
      this.seenNonces.delete(nonce);
    }
  }
}
