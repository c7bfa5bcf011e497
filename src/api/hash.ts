import { createHash } from 'node:crypto';

/**
 * JSON with object keys sorted at every level, so that two equal values always serialize to the
 * same text whatever order a person wrote the keys in. `undefined` members are dropped (as JSON does).
 *
 * Iterative, and safe on any value: a file's data reaches it (the spec hash), so however deep it
 * nests it must not overflow the stack, and a value that contains itself (yaml turns
 * `a: &x [*x]` into one) is written as "[Circular]" instead of looping. Never throws.
 *
 *   stableStringify({b: 1, a: [true, undefined]})  === '{"a":[true,null],"b":1}'
 */
export function stableStringify(value: unknown): string {
  type Step = { text: string } | { value: unknown } | { leave: object };
  const out: string[] = [];
  const inside = new Set<object>(); // the objects and arrays we are writing right now
  const work: Step[] = [{ value }];
  while (work.length > 0) {
    const step = work.pop() as Step;
    if ('text' in step) {
      out.push(step.text);
      continue;
    }
    if ('leave' in step) {
      inside.delete(step.leave);
      continue;
    }
    const v = step.value;
    if (v === null || typeof v !== 'object') {
      out.push(scalarJSON(v));
      continue;
    }
    if (inside.has(v)) {
      out.push('"[Circular]"');
      continue;
    }
    inside.add(v);
    const steps: Step[] = []; // in output order; pushed onto `work` reversed
    if (Array.isArray(v)) {
      steps.push({ text: '[' });
      v.forEach((item, i) => steps.push(...(i > 0 ? [{ text: ',' }] : []), { value: item ?? null }));
      steps.push({ text: ']' });
    } else {
      const obj = v as Record<string, unknown>;
      const keys = Object.keys(obj)
        .filter((k) => obj[k] !== undefined)
        .sort();
      steps.push({ text: '{' });
      keys.forEach((k, i) => steps.push({ text: `${i > 0 ? ',' : ''}${JSON.stringify(k)}:` }, { value: obj[k] }));
      steps.push({ text: '}' });
    }
    steps.push({ leave: v });
    for (let i = steps.length - 1; i >= 0; i--) work.push(steps[i] as Step);
  }
  return out.join('');
}

/** JSON of a non-object; `null` for what JSON cannot write (undefined, functions, symbols). */
function scalarJSON(v: unknown): string {
  if (typeof v === 'bigint') return v.toString(); // JSON.stringify would throw
  return JSON.stringify(v) ?? 'null';
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
