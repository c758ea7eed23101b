import type { Logger } from "../observability/logger.js";
import type { HealthModel, HealthSignals } from "./health-model.js";

/**
 * Logs a database outage once when it starts and once when it ends, with how long it lasted. The
 * outage is the one fact operators need; the calls failing during it log one warn line each
 * without a stack (ingest/call-log.ts), and the breaker's trials and reopenings stay at debug
 * (its transitions are counted in metrics), so a long outage is two lines to find, not hundreds.
 *
 * Out means the app had started and then either a database ping failed or the circuit breaker
 * left "closed"; back means both are fine again. Start-up retries are logged on their own.
 */
export function logDatabaseOutages(health: HealthModel, logger: Logger): void {
  let since: number | undefined;
  health.onSignals((s: HealthSignals) => {
    const out = s.started && (!s.databaseReachable || s.breakerOpen);
    if (out && since === undefined) {
      since = performance.now();
      logger.warn(
        { databaseReachable: s.databaseReachable, breakerOpen: s.breakerOpen },
        "database unavailable",
      );
    } else if (!out && since !== undefined) {
      const outageMs = Math.round(performance.now() - since);
      since = undefined;
      logger.info({ outageMs }, "database available again");
    }
  });
}
