import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { connect, createServer } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";

/**
 * A throwaway `redis-server` on a loopback port, without persistence: the one `npm run cluster`
 * starts when STORAGE_URL names no Redis, and the one each Redis test starts for itself.
 */

export interface RedisServer {
  url: string;
  port: number;
  stop(): Promise<void>;
}

export interface StartRedisOptions {
  /** Where to listen; default a free port. A test passes a stopped server's port to restart it there. */
  port?: number;
  /** What to say when `redis-server` is not installed (how to get one, for whoever runs this). */
  missing?: string;
  /** The server's stderr goes to this process's stderr instead of being kept for the error message. */
  inheritStderr?: boolean;
}

/** A TCP port on 127.0.0.1 that nothing listened on a moment ago. */
export async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const address = server.address();
  server.close();
  await once(server, "close");
  if (address === null || typeof address === "string") throw new Error("no TCP port");
  return address.port;
}

async function answersPing(port: number): Promise<boolean> {
  const socket = connect(port, "127.0.0.1");
  try {
    await once(socket, "connect");
    socket.write("PING\r\n");
    const [data] = (await once(socket, "data")) as [Buffer];
    return data.toString().startsWith("+PONG");
  } catch {
    return false;
  } finally {
    socket.destroy();
  }
}

/** Resolves once the server answers PING; rejects when it cannot start or does not answer in 10 s. */
export async function startRedisServer(opts: StartRedisOptions = {}): Promise<RedisServer> {
  const port = opts.port ?? (await freePort());
  const child: ChildProcess = spawn(
    "redis-server",
    ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
    { stdio: ["ignore", "ignore", opts.inheritStderr ? "inherit" : "pipe"] },
  );
  let failure: Error | undefined;
  child.once("error", (err: NodeJS.ErrnoException) => {
    failure = err.code === "ENOENT" && opts.missing ? new Error(opts.missing) : err;
  });
  let stderr = "";
  child.stderr?.on("data", (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (failure) throw failure;
    if (child.exitCode !== null) throw new Error(`redis-server exited (${child.exitCode}): ${stderr}`);
    if (await answersPing(port)) break;
    if (Date.now() > deadline) {
      child.kill("SIGKILL");
      throw new Error(`redis-server did not answer PING on port ${port}: ${stderr}`);
    }
    await sleep(25);
  }
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = once(child, "exit");
      child.kill("SIGTERM");
      await exited;
    },
  };
}
