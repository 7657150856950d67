/**
 * The `validationRules` an auth method may carry besides its credential:
 * `allowedIpRanges` (CIDR blocks, IPv4 and IPv6, that the client's address
 * must fall in) and `requiredHeaders` (header name to an exact value, or
 * `true` for "present with any value"). Ranges are parsed once, when the
 * gateway's methods are compiled; a request pays one address parse and a few
 * byte compares, and only on gateways that have ranges.
 *
 * @module
 */
import { parseIPv4, parseIPv6 } from "../tools/outbound_policy.ts";

/** The rules as stored and shown. */
export interface ValidationRules {
  allowedIpRanges?: string[];
  requiredHeaders?: Record<string, string | true>;
}

/** One parsed CIDR block, as 16 bytes (IPv4 as `::ffff:a.b.c.d`) and a prefix length. */
export interface IpRange {
  bytes: number[];
  prefix: number;
}

/** Rules ready to check. */
export interface CompiledRules {
  ranges?: IpRange[];
  headers?: [name: string, value: string | true][];
}

/** The request facts rules look at. */
export interface RuleSubject {
  headers: Headers;
  /** The client's address after trusted-proxy resolution (computed on first use). */
  clientAddress(): string;
}

/** The 16 bytes of a literal IPv4 or IPv6 address, IPv4 mapped into IPv6; undefined if not one. */
export function addressBytes(text: string): number[] | undefined {
  const v4 = parseIPv4(text);
  if (v4) return [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, ...v4];
  return parseIPv6(text);
}

/**
 * Parses `a.b.c.d/n` or `x::y/n`; a bare address is the block of that one
 * address. Undefined when it is not a CIDR block or has bits set past the
 * prefix (`10.0.0.1/8` is refused rather than silently widened).
 */
export function parseCidr(text: string): IpRange | undefined {
  const slash = text.indexOf("/");
  const addr = slash < 0 ? text : text.slice(0, slash);
  const v4 = parseIPv4(addr) !== undefined;
  const bytes = addressBytes(addr);
  if (!bytes) return undefined;
  const max = v4 ? 32 : 128;
  let prefix = max;
  if (slash >= 0) {
    const p = text.slice(slash + 1);
    if (!/^\d{1,3}$/.test(p) || Number(p) > max) return undefined;
    prefix = Number(p);
  }
  const range = { bytes, prefix: v4 ? prefix + 96 : prefix };
  for (let bit = range.prefix; bit < 128; bit++) {
    if (bytes[bit >> 3] & (0x80 >> (bit & 7))) return undefined;
  }
  return range;
}

/** True when `bytes` (16) fall in `range`. */
export function inRange(bytes: readonly number[], range: IpRange): boolean {
  const full = range.prefix >> 3;
  for (let i = 0; i < full; i++) if (bytes[i] !== range.bytes[i]) return false;
  const rest = range.prefix & 7;
  if (rest === 0) return true;
  const mask = (0xff << (8 - rest)) & 0xff;
  return (bytes[full] & mask) === range.bytes[full];
}

/** Compiles stored rules; undefined when there are none (the common case costs nothing). */
export function compileRules(stored: unknown): CompiledRules | undefined {
  if (typeof stored !== "object" || stored === null) return undefined;
  const r = stored as ValidationRules;
  const out: CompiledRules = {};
  if (Array.isArray(r.allowedIpRanges)) {
    // Stored rules were checked by the API; an entry that no longer parses matches nothing.
    out.ranges = r.allowedIpRanges.map((t) => parseCidr(String(t))).filter((x) => x !== undefined);
  }
  if (typeof r.requiredHeaders === "object" && r.requiredHeaders !== null) {
    out.headers = Object.entries(r.requiredHeaders).map((
      [k, v],
    ) => [k, v === true ? true : String(v)]);
    if (out.headers.length === 0) delete out.headers;
  }
  return out.ranges || out.headers ? out : undefined;
}

/** Why `subject` breaks `rules`, or undefined when it keeps them. Never repeats a header value. */
export function ruleViolation(rules: CompiledRules, subject: RuleSubject): string | undefined {
  if (rules.ranges) {
    const address = subject.clientAddress();
    const bytes = addressBytes(address.replace(/^\[|\]$/g, ""));
    if (!bytes || !rules.ranges.some((r) => inRange(bytes, r))) {
      return `the client address ${address} is not in the method's allowedIpRanges`;
    }
  }
  for (const [name, value] of rules.headers ?? []) {
    const got = subject.headers.get(name);
    if (got === null) return `the header '${name}' the method requires is missing`;
    if (value !== true && got !== value) {
      return `the header '${name}' does not have the value the method requires`;
    }
  }
  return undefined;
}
