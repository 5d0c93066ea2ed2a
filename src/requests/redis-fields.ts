/** Flat field/value lists as Redis hashes and streams take them: booleans as "1"/"0", no gaps. */
export function toFieldList(fields: Record<string, unknown>): string[] {
  const out: string[] = [];
  for (const [k, v] of Object.entries(fields)) {
    if (v === undefined || Array.isArray(v)) continue;
    out.push(k, typeof v === "boolean" ? (v ? "1" : "0") : String(v));
  }
  return out;
}

/** The inverse: [k1, v1, k2, v2…] as an object (HGETALL inside a script, XRANGE entries). */
export function fromFieldList(flat: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = 0; i + 1 < flat.length; i += 2) out[flat[i] as string] = flat[i + 1] as string;
  return out;
}
