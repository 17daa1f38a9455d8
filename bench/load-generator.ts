/**
 * The load generator of bench/twilio-status.ts, run as a process of its own (so its CPU is
 * not the server's): it posts signed status callbacks (bench/status-callbacks.ts) to one
 * URL on 127.0.0.1 and prints what it measured as one JSON object on stdout.
 *
 * It speaks HTTP/1.1 over keep-alive TCP connections itself: every request's bytes are built
 * before the clock starts, and a response is read only as far as its status line and
 * Content-Length, so the generator spends far less CPU per request than `fetch` would on a
 * machine whose two cores it shares with the server and Postgres. Responses must carry a
 * Content-Length (Deno.serve sends one for every body these servers answer).
 *
 * - closed loop (`mode: "closed"`): `concurrency` connections, each sending its next request
 *   as soon as the last one is answered: the most the server sustains. Requests per second
 *   count the answers that arrive within the measured window; latencies are those of the
 *   requests sent within it.
 * - open loop (`mode: "open"`): request n is due at start + n / rate whatever the server
 *   does; it goes out on an idle connection (of `concurrency`, opened beforehand) or waits
 *   for one, and its latency runs from when it was due (no coordinated omission).
 *
 * Both run `warmupSeconds` first (connections, JIT, the server's database pool), then
 * `seconds` measured. CPU of the generator, the server, Postgres (the postmaster and its
 * children) and the whole machine is read from /proc at the window's start and end.
 *
 * Input: a JSON `LoadConfig` on stdin (it holds the auth token, so not in argv).
 */
import { cpuSeconds, postgresPids } from "./process-cpu.ts";
import { buildCallbacks, type Callback, type CallbackSpec } from "./status-callbacks.ts";

export interface LoadConfig {
  /** `http://127.0.0.1:<port>/…`: nowhere else. */
  url: string;
  callbacks: CallbackSpec;
  /** When the callbacks run out: start over (fine for the ceilings) or stop with an error. */
  wrap: boolean;
  mode: "closed" | "open";
  concurrency: number;
  /** Requests per second, open loop only. */
  rate?: number;
  warmupSeconds: number;
  seconds: number;
  /** Processes whose CPU is reported. */
  serverPid: number;
  postmasterPid: number;
}

export interface LoadResult {
  mode: "closed" | "open";
  /** Answers within the measured window ÷ its length. */
  rps: number;
  /** Requests sent (closed) or due (open) within the window: the latency sample. */
  sample: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  /** Answers by HTTP status over the whole run, warm-up included. */
  statuses: Record<string, number>;
  /** Connection errors (each one reconnected). */
  errors: number;
  /** Callbacks taken (by kind, when the list was not started over), and whether it was. */
  used: number;
  kinds: Record<Callback["kind"], number>;
  wrapped: boolean;
  /** Open loop: requests that had to wait for a connection, and the generator's own lag. */
  queued: number;
  dispatchLagP99: number;
  /** CPU over the measured window, in cores (1 = one core busy the whole time). */
  cpu: { generator: number; server: number; postgres: number; machine: number };
}

const CRLF2 = [13, 10, 13, 10];
const latin1 = new TextDecoder("latin1");

function indexOfHeaderEnd(buf: Uint8Array, length: number): number {
  outer: for (let i = 0; i + 3 < length; i++) {
    for (let j = 0; j < 4; j++) if (buf[i + j] !== CRLF2[j]) continue outer;
    return i;
  }
  return -1;
}

/** One keep-alive HTTP/1.1 connection, one request at a time. */
class Connection {
  #buf = new Uint8Array(16 * 1024);
  private constructor(private conn: Deno.TcpConn) {}

  static async open(port: number): Promise<Connection> {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port });
    conn.setNoDelay(true);
    return new Connection(conn);
  }

  /** Sends `request` and reads its answer; the answer's HTTP status. */
  async send(request: Uint8Array): Promise<number> {
    for (let written = 0; written < request.length;) {
      written += await this.conn.write(request.subarray(written));
    }
    let length = 0;
    let headerEnd = -1;
    let total = -1;
    let status = 0;
    for (;;) {
      if (length === this.#buf.length) {
        const bigger = new Uint8Array(this.#buf.length * 2);
        bigger.set(this.#buf);
        this.#buf = bigger;
      }
      const n = await this.conn.read(this.#buf.subarray(length));
      if (n === null) throw new Error("the server closed the connection");
      length += n;
      if (headerEnd < 0) {
        headerEnd = indexOfHeaderEnd(this.#buf, length);
        if (headerEnd < 0) continue;
        const head = latin1.decode(this.#buf.subarray(0, headerEnd));
        status = Number(head.slice(9, 12));
        const declared = /\r\ncontent-length:\s*(\d+)/i.exec(head);
        if (!declared) throw new Error(`an answer without Content-Length: ${head}`);
        total = headerEnd + 4 + Number(declared[1]);
      }
      if (length >= total) {
        if (length > total) throw new Error("more bytes than one answer: not HTTP/1.1 as expected");
        return status;
      }
    }
  }

  close(): void {
    try {
      this.conn.close();
    } catch {
      // closed already
    }
  }
}

/** Busy CPU seconds of the whole machine (all cores), from /proc/stat. */
function machineBusySeconds(): number {
  const line = Deno.readTextFileSync("/proc/stat").split("\n")[0];
  const v = line.split(/\s+/).slice(1).map(Number);
  // user nice system idle iowait irq softirq steal
  return (v[0] + v[1] + v[2] + v[5] + v[6] + v[7]) / 100;
}

interface CpuMark {
  at: number;
  generator: number;
  server: number;
  postgres: Map<number, number>;
  machine: number;
}

function cpuMark(config: LoadConfig): CpuMark {
  const postgres = new Map<number, number>();
  for (const pid of postgresPids(config.postmasterPid)) postgres.set(pid, cpuSeconds([pid]));
  return {
    at: performance.now(),
    generator: cpuSeconds([Deno.pid]),
    server: cpuSeconds([config.serverPid]),
    postgres,
    machine: machineBusySeconds(),
  };
}

function cpuBetween(a: CpuMark, b: CpuMark): LoadResult["cpu"] {
  const s = (b.at - a.at) / 1000;
  let postgres = 0;
  for (const [pid, end] of b.postgres) postgres += end - (a.postgres.get(pid) ?? 0);
  return {
    generator: (b.generator - a.generator) / s,
    server: (b.server - a.server) / s,
    postgres: postgres / s,
    machine: (b.machine - a.machine) / s,
  };
}

function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

function requestBytes(url: URL, body: string, signature: string): Uint8Array {
  return new TextEncoder().encode(
    `POST ${url.pathname}${url.search} HTTP/1.1\r\n` +
      `Host: ${url.host}\r\n` +
      "User-Agent: TwilioProxy/1.1\r\n" +
      "Accept: */*\r\n" +
      "Content-Type: application/x-www-form-urlencoded\r\n" +
      `X-Twilio-Signature: ${signature}\r\n` +
      `Content-Length: ${new TextEncoder().encode(body).length}\r\n` +
      "\r\n" + body,
  );
}

export async function runLoad(config: LoadConfig): Promise<LoadResult> {
  const url = new URL(config.url);
  if (url.hostname !== "127.0.0.1" || url.protocol !== "http:") {
    throw new Error(`the load generator only sends to http://127.0.0.1: ${config.url}`);
  }
  const port = Number(url.port);
  const callbacks = buildCallbacks(config.callbacks);
  const requests = callbacks.map((c) => requestBytes(url, c.body, c.signature));
  let taken = 0;
  let wrapped = false;
  const take = (): Uint8Array => {
    if (taken === requests.length) {
      if (!config.wrap) throw new Error(`all ${requests.length} callbacks used`);
      wrapped = true;
    }
    return requests[taken++ % requests.length];
  };

  const statuses: Record<string, number> = {};
  let errors = 0;
  const connections = await Promise.all(
    Array.from({ length: config.concurrency }, () => Connection.open(port)),
  );
  /** Sends on `conns[index]`, reconnecting once after a connection error. */
  const send = async (conns: Connection[], index: number, request: Uint8Array) => {
    let status: number;
    try {
      status = await conns[index].send(request);
    } catch {
      errors++;
      conns[index].close();
      conns[index] = await Connection.open(port);
      status = await conns[index].send(request);
    }
    statuses[status] = (statuses[status] ?? 0) + 1;
  };

  const start = performance.now();
  const measureFrom = start + config.warmupSeconds * 1000;
  const measureTo = measureFrom + config.seconds * 1000;
  let mark: CpuMark | undefined;
  let endMark: CpuMark | undefined;
  const markTimers = [
    setTimeout(() => mark = cpuMark(config), measureFrom - performance.now()),
    setTimeout(() => endMark = cpuMark(config), measureTo - performance.now()),
  ];
  const latencies: number[] = [];
  const lags: number[] = [];
  let answered = 0;
  let queued = 0;

  if (config.mode === "closed") {
    await Promise.all(connections.map(async (_, index) => {
      while (performance.now() < measureTo) {
        const sent = performance.now();
        await send(connections, index, take());
        const done = performance.now();
        if (sent >= measureFrom) latencies.push(done - sent);
        if (done >= measureFrom && done <= measureTo) answered++;
      }
    }));
  } else {
    const rate = config.rate!;
    const total = Math.round((config.warmupSeconds + config.seconds) * rate);
    const idle = connections.map((_, index) => index);
    const waiting: number[] = [];
    const inFlight = new Set<Promise<void>>();
    const due = (n: number) => start + (n * 1000) / rate;
    const work = async (index: number, n: number) => {
      for (let next: number | undefined = n; next !== undefined; next = waiting.shift()) {
        const dueAt = due(next);
        lags.push(performance.now() - dueAt);
        await send(connections, index, take());
        const done = performance.now();
        if (dueAt >= measureFrom && dueAt < measureTo) latencies.push(done - dueAt);
        if (done >= measureFrom && done <= measureTo) answered++;
      }
      idle.push(index);
    };
    for (let n = 0; n < total;) {
      const now = performance.now();
      while (n < total && due(n) <= now) {
        const index = idle.pop();
        if (index === undefined) {
          waiting.push(n);
          queued++;
        } else {
          const p = work(index, n);
          inFlight.add(p);
          p.finally(() => inFlight.delete(p));
        }
        n++;
      }
      if (n < total) {
        await new Promise((r) => setTimeout(r, Math.max(0, due(n) - performance.now())));
      }
    }
    while (inFlight.size > 0) await Promise.all([...inFlight]);
  }
  for (const t of markTimers) clearTimeout(t);
  // The last answers may come in before the end-of-window timer has had its turn.
  endMark ??= cpuMark(config);
  for (const c of connections) c.close();
  if (!mark) throw new Error("the run ended before its measured window began");

  const kinds = { delivered: 0, undelivered: 0, duplicate: 0 };
  for (const c of callbacks.slice(0, taken)) kinds[c.kind]++;
  const sorted = Float64Array.from(latencies).sort();
  const lagSorted = Float64Array.from(lags).sort();
  return {
    mode: config.mode,
    rps: answered / config.seconds,
    sample: sorted.length,
    p50: percentile(sorted, 50),
    p90: percentile(sorted, 90),
    p99: percentile(sorted, 99),
    max: sorted.length ? sorted[sorted.length - 1] : NaN,
    statuses,
    errors,
    used: taken,
    kinds,
    wrapped,
    queued,
    dispatchLagP99: percentile(lagSorted, 99),
    cpu: cpuBetween(mark, endMark),
  };
}

if (import.meta.main) {
  const config = JSON.parse(await new Response(Deno.stdin.readable).text()) as LoadConfig;
  const result = await runLoad(config);
  console.log(JSON.stringify(result));
}
