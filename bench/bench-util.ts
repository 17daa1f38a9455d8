/**
 * What the benchmarks share: reading their command-line options, order statistics, stopping
 * cleanly on Ctrl-C, and removing the scratch organizations they create (fast, without
 * triggers).
 */
import type postgres from "postgres";

/** The value after `--name` on the command line, if any. */
export function argValue(name: string): string | undefined {
  const i = Deno.args.indexOf(name);
  return i >= 0 ? Deno.args[i + 1] : undefined;
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

export function percentile(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))];
}

/**
 * Holds Ctrl-C and SIGTERM for a benchmark's run, which must not end with its scratch data
 * still in the database: a signal is only noted (and `onSignal` called, to say so), the run
 * stops at its next `check()`, and its clean-up runs. `release()`, last in the clean-up,
 * hands the signals back; until then another Ctrl-C cannot cut the clean-up short.
 */
export function holdInterrupts(onSignal: () => void): { check(): void; release(): void } {
  let interrupted = false;
  const listener = () => {
    interrupted = true;
    onSignal();
  };
  Deno.addSignalListener("SIGINT", listener);
  Deno.addSignalListener("SIGTERM", listener);
  return {
    check() {
      if (interrupted) throw new Error("interrupted");
    },
    release() {
      Deno.removeSignalListener("SIGINT", listener);
      Deno.removeSignalListener("SIGTERM", listener);
    },
  };
}

/**
 * Removes the organizations with these slugs and everything they own, as supabase_admin
 * without triggers: no cascades to wait for, no audit rows about deleting bench data.
 */
export async function removeOrganizations(sql: postgres.Sql, slugs: string[]): Promise<void> {
  await sql.begin(async (tx) => {
    await tx`set local session_replication_role = replica`;
    const orgs = (await tx`select id from public.organizations where slug = any(${slugs})`)
      .map((r) => r.id as string);
    if (orgs.length === 0) return;
    await tx`
      delete from private.sending_number_slots s
      using public.phone_numbers n
      where n.id = s.phone_number_id and n.org_id = any(${orgs}::uuid[])`;
    // Every tenant table carries org_id (leads, imports, targets, messages, audit_log, …).
    const tables = await tx`
      select c.oid::regclass::text as tbl
      from pg_attribute a
      join pg_class c on c.oid = a.attrelid
      join pg_namespace n on n.oid = c.relnamespace
      where a.attname = 'org_id' and not a.attisdropped and c.relkind in ('r', 'p')
        and not c.relispartition and n.nspname in ('public', 'private')`;
    for (const { tbl } of tables) {
      await tx.unsafe(`delete from ${tbl} where org_id = any($1::uuid[])`, [orgs]);
    }
    await tx`
      delete from realtime.messages
      where topic = any(${orgs.map((o) => `org:${o}`)}::text[])
        or topic in (
          select 'campaign:' || c.id from public.campaigns c where c.org_id = any(${orgs}::uuid[]))`;
    await tx`delete from public.organizations where id = any(${orgs}::uuid[])`;
  });
}
