/**
 * A TCP proxy a test can cut: closing it drops every connection through it, which
 * is what a client sees when the server behind it stops.
 */
export interface TcpProxy {
  port: number;
  close(): Promise<void>;
}

export function startTcpProxy(targetPort: number, listenPort = 0): TcpProxy {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: listenPort });
  const open = new Set<Deno.Conn>();
  const pipes: Promise<unknown>[] = [];
  const accepting = (async () => {
    for await (const client of listener) {
      let upstream: Deno.Conn;
      try {
        upstream = await Deno.connect({ hostname: "127.0.0.1", port: targetPort });
      } catch {
        client.close();
        continue;
      }
      open.add(client);
      open.add(upstream);
      const pipe = (from: Deno.Conn, to: Deno.Conn) =>
        from.readable.pipeTo(to.writable).catch(() => {}).finally(() => {
          for (const c of [from, to]) {
            if (open.delete(c)) {
              try {
                c.close();
              } catch {
                // already closed
              }
            }
          }
        });
      pipes.push(pipe(client, upstream), pipe(upstream, client));
    }
  })().catch(() => {});
  return {
    port: (listener.addr as Deno.NetAddr).port,
    async close() {
      listener.close();
      for (const c of open) {
        try {
          c.close();
        } catch {
          // already closed
        }
      }
      open.clear();
      await accepting;
      await Promise.allSettled(pipes);
    },
  };
}

/** A server that accepts connections and never answers: a hung dependency. */
export function startBlackhole(): TcpProxy {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const held = new Set<Deno.Conn>();
  const accepting = (async () => {
    for await (const conn of listener) held.add(conn);
  })().catch(() => {});
  return {
    port: (listener.addr as Deno.NetAddr).port,
    async close() {
      listener.close();
      for (const conn of held) {
        try {
          conn.close();
        } catch {
          // already closed
        }
      }
      await accepting;
    },
  };
}
