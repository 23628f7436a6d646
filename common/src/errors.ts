// Errors with a stable code (SKY_ERR_<AREA>_<WHAT>) so callers and tests can branch on them.
export class SkystreamError extends Error {
  constructor(
    readonly code: string,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = "SkystreamError";
  }
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
