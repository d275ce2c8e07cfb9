/** pino-compatible subset: a pino logger (or a child of one) can be passed as is. */
export interface MdpLogger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

const noop = (): void => {};
export const silentLogger: MdpLogger = { debug: noop, info: noop, warn: noop, error: noop };
