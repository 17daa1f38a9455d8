/**
 * A CSV response body read from a database cursor inside the caller's transaction:
 * memory stays flat however many rows there are, and RLS decides what is in it.
 */
import type { PendingQuery, Row } from "postgres";
import type { Claims, Db, Tx } from "../_shared/db.ts";
import { csvLine, UTF8_BOM } from "./csv-write.ts";

const CURSOR_ROWS = 1000;

export function csvStream(
  db: Db,
  claims: Claims,
  columns: readonly string[],
  query: (tx: Tx) => PendingQuery<Row[]>,
): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder();
  let cancelled = false;
  return new ReadableStream<Uint8Array>({
    async start(controller) {
      try {
        // The BOM makes Excel read UTF-8 (accented names) instead of the ANSI code page.
        controller.enqueue(encoder.encode(UTF8_BOM + csvLine(columns)));
        await db.asUser(claims, async (tx) => {
          for await (const rows of query(tx).cursor(CURSOR_ROWS)) {
            if (cancelled) break;
            let chunk = "";
            for (const row of rows) chunk += csvLine(columns.map((column) => row[column]));
            controller.enqueue(encoder.encode(chunk));
          }
        });
        controller.close();
      } catch (error) {
        controller.error(error);
      }
    },
    cancel() {
      cancelled = true;
    },
  });
}
