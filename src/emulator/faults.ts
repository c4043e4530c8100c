/**
 * Faults on demand: each rule matches request paths on one or every host and fires a limited number
 * of times. A rule is only consumed by a response it can apply to (a body fault never fires on a
 * redirect), so `{match: sha256, fault: {kind: "truncate", …}}` lands on the blob host.
 */
export type EmulatorHost = "api" | "registry" | "blob";

export type Fault =
  /** Answer with this status (and Retry-After seconds, for 429/503). */
  | { kind: "status"; status: number; retryAfter?: number }
  /** Destroy the connection before answering (a reset). */
  | { kind: "reset" }
  /** Send the full Content-Length but close after `afterBytes` bytes of body. */
  | { kind: "truncate"; afterBytes: number }
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
  fault: Fault;
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
      if (!matches || !applies(rule.fault, capabilities)) continue;
      rule.remaining -= 1;
      this.fired.push({ host, path, kind: rule.fault.kind });
      return rule.fault;
    }
    return undefined;
  }
}

function applies(fault: Fault, capabilities: readonly FaultCapability[]): boolean {
  switch (fault.kind) {
    case "status":
    case "reset":
      return true;
    case "truncate":
    case "corrupt":
    case "slow":
      return capabilities.includes("body");
    case "tamper-signature":
      return capabilities.includes("signed");
  }
}
