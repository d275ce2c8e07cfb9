/** Where in the trader's text a parse error points: [start, end) and the message. */
export interface ParseErrorSpan {
  start: number;
  end: number;
  message: string;
}

// The trading system names what it could not read: `cannot read "<part>" in "<statement>": hint`
// or `missing <what> in "<statement>"` or `no instruction in "<statement>": ...`.
const CANNOT_READ = /cannot read "([^"]+)"(?: in "([^"]+)")?/;
const IN_STATEMENT = /(?:missing .+?|no instruction) in "([^"]+)"/;

/**
 * Finds the part of `text` an error message is about, so the console can mark it.
 * The part is searched inside its statement first (a token like "500" may appear in
 * several statements); null when the message names nothing found in the text.
 */
export function locateParseError(text: string, message: string): ParseErrorSpan | null {
  const read = CANNOT_READ.exec(message);
  if (read) {
    const part = read[1]!;
    const statement = read[2];
    const statementAt = statement ? text.indexOf(statement) : -1;
    if (statementAt >= 0 && statement) {
      const inner = statement.indexOf(part);
      if (inner >= 0) return { start: statementAt + inner, end: statementAt + inner + part.length, message };
    }
    const at = text.indexOf(part);
    return at >= 0 ? { start: at, end: at + part.length, message } : null;
  }
  const missing = IN_STATEMENT.exec(message);
  if (missing) {
    const statement = missing[1]!;
    const at = text.indexOf(statement);
    return at >= 0 ? { start: at, end: at + statement.length, message } : null;
  }
  return null;
}

/** The text cut around the span, for rendering with the part marked. */
export function splitAtSpan(text: string, span: ParseErrorSpan): { before: string; marked: string; after: string } {
  return { before: text.slice(0, span.start), marked: text.slice(span.start, span.end), after: text.slice(span.end) };
}
