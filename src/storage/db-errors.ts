/**
 * Tells a database failure the client should retry (the server is unreachable, restarting,
 * overloaded, or chose us as a deadlock victim) from one that is our own bug (bad SQL, a value
 * validation should have refused). The first becomes UNAVAILABLE with a retry delay; the second
 * INTERNAL, so it pages someone instead of being retried forever.
 */
export function isTransientDbError(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  const code = (err as { code?: unknown }).code;
  if (typeof code === "string") {
    // SQLSTATE classes: 08 connection exception, 40 transaction rollback (serialization,
    // deadlock), 53 insufficient resources, 57 operator intervention (shutdown, cancel), 58 system.
    if (/^(08|40|53|57|58)[0-9A-Z]{3}$/.test(code)) return true;
    // Node socket errors from the pg driver.
    if (
      /^E(CONNREFUSED|CONNRESET|TIMEDOUT|PIPE|HOSTUNREACH|NETUNREACH|AI_AGAIN|NOTFOUND)$/.test(code)
    ) {
      return true;
    }
  }
  // pg reports pool and connection trouble as plain Errors without a code.
  return /Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error|Connection terminated unexpectedly|pool is ending|Cannot use a pool after calling end/i.test(
    err.message,
  );
}
