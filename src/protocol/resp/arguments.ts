// Arguments read as Redis reads them: integers as string2ll accepts them, and names
// that may not hold spaces or special characters.

/** Redis's error for an argument that is not a signed 64-bit integer. */
export const NOT_INTEGER = 'ERR value is not an integer or out of range';
const INT64_MAX = '9223372036854775807';

/** A signed 64-bit decimal as Redis's string2ll accepts it (no '+', no leading zeros), or null. */
export function parseInteger(text: string): number | null {
  const match = /^(-?)(0|[1-9]\d*)$/.exec(text);
  if (!match) return null;
  const digits = match[2];
  if (digits.length > 19 || (digits.length === 19 && digits > (match[1] ? '9223372036854775808' : INT64_MAX))) return null;
  return Number(text);
}

/** A name without spaces, newlines or special characters (CLIENT SETNAME, SETINFO). */
export function plainName(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x21 || c > 0x7e) return false;
  }
  return true;
}
