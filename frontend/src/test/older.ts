/**
 * A fixture as an orchestrator from an older version sent it: without the fields added since, or with a value
 * it no longer sends. The generated API types describe today's orchestrator; the dashboard still reads these.
 */
export const older = <T>(value: unknown): T => value as T
