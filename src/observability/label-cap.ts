/** Value a capped label takes once its budget of distinct values is spent. */
export const OTHER_LABEL = "other";

/**
 * Keeps a label's cardinality bounded: the first `max` distinct values pass through, any later
 * new value becomes "other". A flood of made-up tenants or sources then costs one series, not one
 * per value, and Prometheus stays healthy.
 */
export function createLabelCap(max: number): (value: string) => string {
  const seen = new Set<string>();
  return (value) => {
    if (seen.has(value)) return value;
    if (seen.size >= max) return OTHER_LABEL;
    seen.add(value);
    return value;
  };
}
