import { createHash } from 'node:crypto';

/**
 * JSON with object keys sorted at every level, so that two equal values always serialize to the
 * same text whatever order a person wrote the keys in. `undefined` members are dropped (as JSON does).
 */
export function stableStringify(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map((v) => stableStringify(v ?? null)).join(',')}]`;
  const obj = value as Record<string, unknown>;
  const keys = Object.keys(obj)
    .filter((k) => obj[k] !== undefined)
    .sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${stableStringify(obj[k])}`).join(',')}}`;
}

/** Short content hash (16 hex chars of sha256 over the stable JSON). Used for spec and config hashes. */
export function contentHash(value: unknown): string {
  return createHash('sha256').update(stableStringify(value)).digest('hex').slice(0, 16);
}

/** Hash of a Scenario's spec: changes exactly when the spec's meaning changes (not its formatting). */
export function specHash(spec: unknown): string {
  return contentHash(spec ?? {});
}

/** FNV-1a 32-bit over UTF-16 code units: a small stable hash for tc class minors and device names. */
export function fnv1a32(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}
