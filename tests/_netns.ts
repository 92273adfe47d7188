/**
 * Test helper: a small private network of Linux network namespaces, so that
 * processes in different "hosts" really talk over a network (veth links and a
 * bridge) and never over loopback. Needs root and the `ip` command.
 *
 * Layout: a hub namespace holding a bridge at `10.231.<net>.1/24`, and one
 * namespace per host, linked to the bridge by a veth pair, at `.2`, `.3`, ...
 * Every address lives inside namespaces made here; nothing is added to the
 * host's own network namespace (a veth is created directly inside the hub).
 */
import { execFileSync, spawn, type SpawnOptions } from "node:child_process";
import { existsSync } from "node:fs";
import process from "node:process";

/** Why the real-hosts tests cannot run here, or null when they can. */
export function netnsUnavailable(): string | null {
  if (process.platform !== "linux") return `it needs Linux, not ${process.platform}`;
  if (typeof process.getuid !== "function" || process.getuid() !== 0) return "it needs root";
  try {
    execFileSync("ip", ["-V"], { stdio: "ignore" });
  } catch {
    return "the ip command (iproute2) is missing";
  }
  if (!existsSync("/var/run/netns") && !existsSync("/run")) return "/run is missing";
  return null;
}

/** One namespace of the network. */
export interface NetHost {
  /** The namespace's name. */
  ns: string;
  /** Its address on the bridge. */
  address: string;
}

/** A private network; `destroy()` kills what runs in it and removes it. */
export interface NetNs {
  /** The hub namespace, where the bridge lives, at `10.231.<net>.1`. */
  hub: NetHost;
  /** The other namespaces, in the order of their names. */
  hosts: NetHost[];
  /** The command prefix that runs a command inside `host`. */
  exec(host: NetHost): string[];
  /** Kills every process left in the namespaces, then deletes them (and their links). */
  destroy(): void;
}

function ip(args: string[]): void {
  execFileSync("ip", args, { stdio: ["ignore", "ignore", "pipe"] });
}

/**
 * Builds a hub and one namespace per name, on subnet `10.231.<net>.0/24`
 * (net is chosen from the process id, so parallel runs do not clash).
 * On any failure everything made so far is removed before rethrowing.
 */
export function createNetwork(names: string[]): NetNs {
  const tag = `lt${process.pid % 100000}`;
  const net = 1 + (process.pid % 250);
  const hub: NetHost = { ns: `${tag}-hub`, address: `10.231.${net}.1` };
  const hosts = names.map((name, i) => ({
    ns: `${tag}-${name}`,
    address: `10.231.${net}.${i + 2}`,
  }));
  const made: string[] = [];
  const destroy = () => {
    for (const ns of [...made].reverse()) {
      killAll(ns);
      try {
        ip(["netns", "del", ns]);
      } catch {
        // already gone
      }
    }
    made.length = 0;
  };
  try {
    for (const host of [hub, ...hosts]) {
      ip(["netns", "add", host.ns]);
      made.push(host.ns);
      ip(["-n", host.ns, "link", "set", "lo", "up"]);
    }
    ip(["-n", hub.ns, "link", "add", "br0", "type", "bridge"]);
    ip(["-n", hub.ns, "addr", "add", `${hub.address}/24`, "dev", "br0"]);
    ip(["-n", hub.ns, "link", "set", "br0", "up"]);
    hosts.forEach((host, i) => {
      const hubSide = `vh${i}`;
      ip([
        "-n",
        hub.ns,
        "link",
        "add",
        hubSide,
        "type",
        "veth",
        "peer",
        "name",
        "eth0",
        "netns",
        host.ns,
      ]);
      ip(["-n", hub.ns, "link", "set", hubSide, "master", "br0"]);
      ip(["-n", hub.ns, "link", "set", hubSide, "up"]);
      ip(["-n", host.ns, "addr", "add", `${host.address}/24`, "dev", "eth0"]);
      ip(["-n", host.ns, "link", "set", "eth0", "up"]);
    });
  } catch (error) {
    destroy();
    const detail = (error as { stderr?: Uint8Array }).stderr?.toString().trim() ?? "";
    throw new Error(`Cannot build the test network: ${(error as Error).message} ${detail}`, {
      cause: error,
    });
  }
  return { hub, hosts, exec: (host) => ["ip", "netns", "exec", host.ns], destroy };
}

// Kills the processes in a namespace this helper made: they were all started by the test.
function killAll(ns: string): void {
  let pids: string[] = [];
  try {
    pids = execFileSync("ip", ["netns", "pids", ns], { encoding: "utf8" }).split(/\s+/)
      .filter((pid) => /^\d+$/.test(pid));
  } catch {
    return;
  }
  for (const pid of pids) {
    try {
      process.kill(Number(pid), "SIGKILL");
    } catch {
      // exited meanwhile
    }
  }
}

/** Spawns `command` inside `host`, output piped; the caller reads and ends it. */
export function spawnIn(
  network: NetNs,
  host: NetHost,
  command: string[],
  options: SpawnOptions = {},
): ReturnType<typeof spawn> {
  const full = [...network.exec(host), ...command];
  return spawn(full[0]!, full.slice(1), { stdio: ["ignore", "pipe", "pipe"], ...options });
}
