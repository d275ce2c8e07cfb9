/**
 * The check broker and worker apply to their numeric options: undefined takes the
 * default, anything not a finite number above 0 is a TypeError naming the class.
 */
export function positiveOption(owner: string) {
  return (name: string, value: number | undefined, fallback: number): number => {
    if (value === undefined) return fallback;
    if (!Number.isFinite(value) || value <= 0) {
      throw new TypeError(`${owner}: ${name} must be a positive number, got ${String(value)}`);
    }
    return value;
  };
}
