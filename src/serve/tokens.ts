/**
 * Confirmation tokens: `<nonce>.<expiry>.<mac>`.
 *
 *   nonce   16 random bytes, base64url: the key of its row in `tokens` (which is how it is made single-use)
 *   expiry  epoch seconds, base 10
 *   mac     HMAC-SHA256(UNSUBSCRIBE_SECRET, "confirm", list id, nonce, expiry, address), base64url
 *
 * The address is inside the MAC but not in the token, so a link never shows the address and a token cannot
 * be moved to another address or have its expiry extended. Unsubscribe tokens are the deliver step's
 * (src/deliver/subscribers.ts): stable, no expiry, so every old issue's link keeps working.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

export interface ConfirmToken {
  nonce: string;
  expires: number;
  mac: string;
}

const TOKEN_RE = /^([A-Za-z0-9_-]{22})\.([0-9]{1,12})\.([A-Za-z0-9_-]{43})$/;

function confirmMac(secret: string, listId: string, nonce: string, expires: number, address: string): string {
  return createHmac('sha256', secret).update(`confirm\n${listId}\n${nonce}\n${expires}\n${address}`).digest('base64url');
}

export function newNonce(): string {
  return randomBytes(16).toString('base64url');
}

export function confirmToken(secret: string, listId: string, nonce: string, expires: number, address: string): string {
  return `${nonce}.${expires}.${confirmMac(secret, listId, nonce, expires, address)}`;
}

/** Split a token; null when it is not even shaped like one. */
export function parseConfirmToken(token: unknown): ConfirmToken | null {
  if (typeof token !== 'string') return null;
  const m = TOKEN_RE.exec(token);
  return m ? { nonce: m[1]!, expires: Number(m[2]), mac: m[3]! } : null;
}

/** Constant-time check that we issued this token for this address. Says nothing of expiry or use. */
export function verifyConfirmMac(secret: string, listId: string, t: ConfirmToken, address: string): boolean {
  const expected = Buffer.from(confirmMac(secret, listId, t.nonce, t.expires, address));
  const given = Buffer.from(t.mac);
  return given.length === expected.length && timingSafeEqual(given, expected);
}
