/**
 * Test helper: a real S3 protocol server (s3rver) on a free port, keeping its
 * objects in a temporary directory removed by `stop()`.
 *
 * The server always runs in a Node subprocess with `--openssl-legacy-provider`:
 * s3rver encrypts ListObjectsV2 continuation tokens with DES, which Deno, Bun
 * and a default Node refuse, so listing past the first page would fail. The
 * client under test runs on whatever runtime runs the test.
 */
import { spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { S3Client } from "@aws-sdk/client-s3";
import { repoRoot, tempDir } from "./_helpers.ts";

/** s3rver's fixed credentials. */
export const S3RVER_CREDENTIALS = { accessKeyId: "S3RVER", secretAccessKey: "S3RVER" };

/** A running s3rver. */
export interface S3Server {
  /** `http://<address>:<port>`. */
  endpoint: string;
  /** A raw SDK client for the server, for planting objects behind a storage's back. */
  client: S3Client;
  /** Stops the server and removes its directory. */
  stop(): Promise<void>;
}

/** Where and how to start it. */
export interface S3rverOptions {
  /** Address to listen on; default 127.0.0.1. */
  address?: string;
  /** Port; default 0 (a free one). */
  port?: number;
  /** Command prefix to run the server under, e.g. `["ip", "netns", "exec", "ns"]`. */
  wrap?: string[];
}

// Runs in the subprocess: prints the port once listening, stops when stdin closes.
const SERVER = `
import S3rver from "s3rver";
const config = JSON.parse(process.env.LABTECH_S3RVER);
const server = new S3rver({
  address: config.address, port: config.port, silent: true, directory: config.dir,
  configureBuckets: config.buckets.map((name) => ({ name })),
});
const { port } = await server.run();
console.log(JSON.stringify({ port }));
const stop = () => server.close().then(() => process.exit(0));
process.stdin.on("end", stop);
process.stdin.resume();
process.on("SIGTERM", stop);
`;

/** Starts s3rver with the given buckets. */
export async function startS3rver(
  buckets: string[],
  options: S3rverOptions = {},
): Promise<S3Server> {
  const { address = "127.0.0.1", port = 0, wrap = [] } = options;
  const { dir, cleanup } = tempDir("labtech-s3rver-");
  const command = [
    ...wrap,
    "node",
    "--openssl-legacy-provider",
    "--input-type=module",
    "-e",
    SERVER,
  ];
  const child = spawn(command[0]!, command.slice(1), {
    cwd: repoRoot(),
    env: { ...process.env, LABTECH_S3RVER: JSON.stringify({ address, port, dir, buckets }) },
    stdio: ["pipe", "pipe", "inherit"],
  });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  let listening: number;
  try {
    listening = await new Promise<number>((resolve, reject) => {
      child.once("error", reject);
      child.once("exit", (code) => reject(new Error(`s3rver exited with code ${code}`)));
      const lines = createInterface({ input: child.stdout! });
      lines.once("line", (line) => resolve(JSON.parse(line).port));
    });
  } catch (error) {
    child.kill("SIGKILL");
    cleanup();
    throw error;
  }
  const endpoint = `http://${address}:${listening}`;
  const client = new S3Client({
    endpoint,
    region: "us-east-1",
    forcePathStyle: true,
    credentials: S3RVER_CREDENTIALS,
  });
  return {
    endpoint,
    client,
    stop: async () => {
      client.destroy();
      child.stdin!.end();
      await exited;
      cleanup();
    },
  };
}
