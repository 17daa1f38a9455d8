/**
 * CPU time of processes, read from /proc (Linux), for the benchmarks' columns that say where
 * the time went: the servers' own, and Postgres's, which spreads its work over a process per
 * connection besides its background workers.
 */

/** CPU seconds (user + system) used so far by these processes together; ended ones count 0. */
export function cpuSeconds(pids: Iterable<number>): number {
  const tick = 100; // USER_HZ on Linux
  let total = 0;
  for (const pid of pids) {
    try {
      const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
      // After the command name, which may hold spaces and parentheses: utime and stime are
      // fields 14 and 15 of the line.
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      total += (Number(fields[11]) + Number(fields[12])) / tick;
    } catch {
      // gone
    }
  }
  return total;
}

/** The postmaster and its children (backends and background processes), as of now. */
export function postgresPids(postmaster: number): number[] {
  const pids = [postmaster];
  for (const entry of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(entry.name)) continue;
    try {
      const stat = Deno.readTextFileSync(`/proc/${entry.name}/stat`);
      if (Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]) === postmaster) {
        pids.push(Number(entry.name));
      }
    } catch {
      // gone
    }
  }
  return pids;
}
