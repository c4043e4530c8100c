/**
 * Faults on demand: each rule matches request paths on one or every host and fires a limited number
 * of times. A rule is only consumed by a response it can apply to (a body fault never fires on a
 * redirect), so `{match: sha256, fault: {kind: "truncate", …}}` lands on the blob host.
 */
export type EmulatorHost = "api" | "registry" | "blob";

export type Fault =
  /** Answer with this status (and Retry-After seconds, for 429/503). */
  | { kind: "status"; status: number; retryAfter?: number }
  // For the body faults, a negative `afterBytes` counts from the end: -1 breaks inside the last byte.
  /** Reset the connection (RST): before answering, or after `afterBytes` bytes of body. */
  | { kind: "reset"; afterBytes?: number }
  /** Send the full Content-Length but close (FIN) after `afterBytes` bytes of body. */
  | { kind: "truncate"; afterBytes: number }
  /** Send the head and `afterBytes` bytes of body, then nothing until the client gives up. */
  | { kind: "stall"; afterBytes: number }
  /** A chunked body whose framing breaks after `afterBytes` bytes (a chunk size that is not hex). */
  | { kind: "bad-chunking"; afterBytes: number }
  /** Flip one byte of the body (default: the middle one). */
  | { kind: "corrupt"; offset?: number }
  /** Wait `delayMs` before answering and/or throttle the body to `bytesPerSecond`. */
  | { kind: "slow"; delayMs?: number; bytesPerSecond?: number }
  /** Serve a `.jws.json` whose signature no longer verifies. */
  | { kind: "tamper-signature" };

export interface FaultRule {
  /** Substring of the request path (as received, percent-encoded), or a RegExp tested against it. */
  match: string | RegExp;
  /** Only on this host (default: any). */
  host?: EmulatorHost;
  /** How many responses it affects (default 1; Infinity for all). */
  times?: number;
  /** The fault; with a list, one picked at random (`FaultInjector.random`) each time the rule fires. */
  fault: Fault | readonly Fault[];
  /** Fires on this share of the matching responses, at random (default 1: every one). */
  chance?: number;
}

export interface FiredFault {
  host: EmulatorHost;
  path: string;
  kind: Fault["kind"];
}

/** Which fault kinds a given response can carry. */
export type FaultCapability = "body" | "signed";

interface ActiveRule extends FaultRule {
  remaining: number;
}

export class FaultInjector {
  private rules: ActiveRule[] = [];
  /** Every fault that fired, in order. */
  readonly fired: FiredFault[] = [];
  /** Uniform in [0, 1): decides `chance` and picks among listed faults (tests seed it: seededRandom). */
  random: () => number = Math.random;

  /** Adds a rule; returns a handle telling how many firings remain. */
  inject(rule: FaultRule): { remaining(): number } {
    const active: ActiveRule = { ...rule, remaining: rule.times ?? 1 };
    this.rules.push(active);
    return { remaining: () => active.remaining };
  }

  /** Removes every rule (fired faults stay in `fired`). */
  clear(): void {
    this.rules = [];
  }

  /** Rules that can still fire. */
  pending(): number {
    return this.rules.filter((rule) => rule.remaining > 0).length;
  }

  /** The first applicable rule for this response, consumed; undefined when none. */
  take(host: EmulatorHost, path: string, capabilities: readonly FaultCapability[]): Fault | undefined {
    for (const rule of this.rules) {
      if (rule.remaining <= 0) continue;
      if (rule.host !== undefined && rule.host !== host) continue;
      const matches = typeof rule.match === "string" ? path.includes(rule.match) : rule.match.test(path);
      const choices = (Array.isArray(rule.fault) ? rule.fault : [rule.fault]) as readonly Fault[];
      const usable = choices.filter((fault) => applies(fault, capabilities));
      if (!matches || usable.length === 0) continue;
      if (rule.chance !== undefined && this.random() >= rule.chance) continue;
      const fault = usable[Math.floor(this.random() * usable.length)] as Fault;
      rule.remaining -= 1;
      this.fired.push({ host, path, kind: fault.kind });
      return fault;
    }
    return undefined;
  }
}

function applies(fault: Fault, capabilities: readonly FaultCapability[]): boolean {
  switch (fault.kind) {
    case "status":
      return true;
    case "reset":
      return fault.afterBytes === undefined || capabilities.includes("body");
    case "truncate":
    case "corrupt":
    case "slow":
    case "stall":
    case "bad-chunking":
      return capabilities.includes("body");
    case "tamper-signature":
      return capabilities.includes("signed");
  }
}

/** A reproducible uniform [0, 1) sequence (mulberry32), for `FaultInjector.random` in tests. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
