/**
 * bench/RESULTS.md keeps the latest table of each benchmark between its own markers
 * (`<!-- <name>:begin -->` … `<!-- <name>:end -->`); a run with `--write` replaces it.
 */

/** Replaces the section `name` of bench/RESULTS.md with `table`, formatted as the repo is. */
export async function writeResults(name: string, table: string): Promise<void> {
  const file = new URL("RESULTS.md", import.meta.url);
  const text = await Deno.readTextFile(file);
  const start = `<!-- ${name}:begin -->`;
  const end = `<!-- ${name}:end -->`;
  const from = text.indexOf(start);
  const to = text.indexOf(end);
  if (from < 0 || to < from) throw new Error(`bench/RESULTS.md lacks ${start} … ${end}`);
  await Deno.writeTextFile(
    file,
    `${text.slice(0, from + start.length)}\n${table}\n${text.slice(to)}`,
  );
  // The file is checked by `deno fmt --check` with the rest of the repository.
  const fmt = await new Deno.Command(Deno.execPath(), { args: ["fmt", "--quiet", file.pathname] })
    .output();
  if (!fmt.success) throw new Error(`deno fmt ${file.pathname} failed`);
}
