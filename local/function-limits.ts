/**
 * The limits hosted Edge Functions run under, applied to the local gateway's process
 * (local/stack.ts and the benchmarks start it with these arguments).
 */

/**
 * Hosted Edge Functions run in isolates created with a 256 MB memory limit, and V8 sizes
 * its heap from that limit, the young generation included (16 MB of semi-spaces; a default
 * Deno process lets them grow past 50 MB under a high allocation rate, such as a CSV being
 * parsed). The gateway runs under the same limit, so local memory use and out-of-memory
 * failures look like hosted ones.
 */
export const FUNCTION_MEMORY_MB = 256;
/** Deno arguments that apply it to a process running this gateway. */
export const GATEWAY_DENO_ARGS: readonly string[] = [
  `--v8-flags=--max-heap-size=${FUNCTION_MEMORY_MB}`,
];
