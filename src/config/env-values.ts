import { z } from "zod";

// The value forms environment variables take, shared by every section's schema.

/** `true`/`false`, `1`/`0`, `yes`/`no`. */
export const bool = z
  .enum(["true", "false", "1", "0", "yes", "no"])
  .transform((v) => v === "true" || v === "1" || v === "yes");

/**
 * A whole number in [min, max]. Decimal digits only: number coercion would read "" as 0 and
 * "0x50" as 80, letting an empty `GRPC_PORT=` in an env file silently pick a random port.
 */
export const integer = (min: number, max: number) =>
  z
    .string()
    .regex(/^\d+$/, "expected a whole number")
    .transform(Number)
    .pipe(z.number().int().min(min).max(max));

/** A TCP port; 0 picks a free one. */
export const port = integer(0, 65535);

/** A whole number from 1 to `max`. */
export const positiveInt = (max: number) => integer(1, max);

/** Thrown when the environment does not parse; the message names every bad variable. */
export class ConfigError extends Error {
  override readonly name = "ConfigError";
}

/** One line per problem, each starting with the variable it is about. */
export function configError(issues: readonly z.core.$ZodIssue[]): ConfigError {
  // A variable two sections read (BREAKER_TIMEOUT_MS) is named once, not once per section.
  const problems = [...new Set(issues.map((i) => `${i.path.join(".")}: ${i.message}`))];
  return new ConfigError(`invalid configuration:\n  ${problems.join("\n  ")}`);
}

/** `T` with every property, at every depth, read-only: what `deepFreeze` makes of it. */
export type DeepReadonly<T> = T extends readonly (infer U)[]
  ? readonly DeepReadonly<U>[]
  : T extends object
    ? { readonly [K in keyof T]: DeepReadonly<T[K]> }
    : T;

/** Freezes `value` and everything in it, so no component can change the config it was given. */
export function deepFreeze<T>(value: T): DeepReadonly<T> {
  if (value && typeof value === "object") {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value as DeepReadonly<T>;
}
