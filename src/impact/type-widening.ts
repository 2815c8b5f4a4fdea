/**
 * Which column type changes only widen the type: every stored value keeps its exact text
 * and the client still gets the same kind of value, so no reader breaks on the rows it
 * reads. Only the forms format_type() prints are recognised; anything else (domains,
 * int → bigint, char(n), time precision) counts as a real change.
 */

/** A type as format_type() prints it: base name, type modifiers, whether it is an array. */
interface PrintedType {
  name: string;
  /** Length or precision, absent when unconstrained. */
  size?: number;
  /** numeric's scale. */
  scale?: number;
  array: boolean;
}

// Only these bases: their widened forms print every stored value unchanged.
const PRINTED = /^(character varying|bit varying|numeric|text)(?:\((\d+)(?:,(-?\d+))?\))?(\[\])?$/;

function parsePrinted(type: string): PrintedType | undefined {
  const m = PRINTED.exec(type.trim());
  if (!m) return undefined;
  return {
    name: m[1]!,
    ...(m[2] === undefined ? {} : { size: Number(m[2]) }),
    ...(m[3] === undefined ? {} : { scale: Number(m[3]) }),
    array: m[4] !== undefined,
  };
}

/** Whether `to` allows at least every length `from` allows (absent size: no limit). */
function longerLimit(from: PrintedType, to: PrintedType): boolean {
  if (from.size === undefined) return false;
  return to.size === undefined || to.size > from.size;
}

function widensBase(from: PrintedType, to: PrintedType): boolean {
  switch (from.name) {
    case 'character varying':
      // text and varchar share the client type; varchar → text is how lengths are dropped.
      if (to.name === 'text') return true;
      return to.name === from.name && longerLimit(from, to);
    case 'bit varying':
      return to.name === from.name && longerLimit(from, to);
    case 'numeric':
      // Another scale would print stored values with other digits (1.5 → 1.500); an
      // unconstrained numeric keeps each value's own scale.
      if (to.name !== 'numeric' || from.size === undefined) return false;
      return to.size === undefined || (to.size > from.size && to.scale === from.scale);
    default:
      return false;
  }
}

/**
 * Whether changing a column from `fromType` to `toType` (format_type() text) only widens
 * it: varchar(n) → varchar(m > n), varchar or text; varbit(n) → varbit(m > n) or varbit;
 * numeric(p,s) → numeric(q > p, s) or numeric; the same for arrays of them.
 */
export function isWidening(fromType: string | undefined, toType: string | undefined): boolean {
  if (fromType === undefined || toType === undefined) return false;
  const from = parsePrinted(fromType);
  const to = parsePrinted(toType);
  if (!from || !to || from.array !== to.array) return false;
  return widensBase(from, to);
}
