// The logging interface components take. Processes pass a pino logger; tests may pass a quiet one.
// Messages are constant strings; variables go in the fields object.
export type LogFn = (fields: Record<string, unknown>, msg: string) => void;
export type Logger = { debug: LogFn; info: LogFn; warn: LogFn; error: LogFn };

export const silentLogger: Logger = { debug() {}, info() {}, warn() {}, error() {} };
