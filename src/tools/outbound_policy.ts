/**
 * Where tools may send requests. Before every upstream connection (and every
 * redirect hop) the host is resolved and each address is classified; link-local
 * and cloud-metadata addresses are refused unless the org allows them, and
 * private and loopback ranges follow the org's `settings.outbound`.
 *
 * Two details carry the safety:
 * - Every address a name resolves to must be allowed, not just one, so a
 *   name cannot mix a harmless address with a forbidden one.
 * - Plain-http connections to a resolved name are pinned to the checked
 *   address (a `Deno.HttpClient` whose TCP transport targets that IP), so DNS
 *   rebinding cannot swap in another address between check and connect. For
 *   https pinning is unnecessary and impossible with Deno's fetch: a rebound
 *   connection would meet a server without a certificate for the name, and the
 *   TLS handshake fails before any request is sent.
 *
 * @module
 */
import type { Store } from "../store/store.ts";
import type { HopDecision } from "./outbound.ts";

/** An org's outbound settings (`settings.outbound`). */
export interface OutboundPolicy {
  /** 10/8, 172.16/12, 192.168/16, 100.64/10 and fc00::/7. */
  allowPrivateNetworks: boolean;
  /** 127/8, ::1, and 0.0.0.0/8 and ::, which reach this machine too. */
  allowLoopback: boolean;
  /** 169.254/16, fe80::/10 and the cloud-metadata endpoints. */
  allowLinkLocal: boolean;
}

/**
 * The defaults, chosen deliberately: a self-hosted gateway exists to reach
 * internal APIs (and tests use loopback upstreams), so private and loopback
 * ranges are allowed; link-local is where cloud metadata (instance
 * credentials) lives, the classic SSRF prize, so it is refused.
 */
export const DEFAULT_OUTBOUND_POLICY: Readonly<OutboundPolicy> = Object.freeze({
  allowPrivateNetworks: true,
  allowLoopback: true,
  allowLinkLocal: false,
});

/** The setting names under `settings.outbound`. */
export const OUTBOUND_SETTINGS = [
  "allowPrivateNetworks",
  "allowLoopback",
  "allowLinkLocal",
] as const;

/** The effective policy of an org's stored settings: `settings.outbound` over the defaults. */
export function outboundPolicyOf(settings: Record<string, unknown>): OutboundPolicy {
  const stored = settings.outbound;
  const out: OutboundPolicy = { ...DEFAULT_OUTBOUND_POLICY };
  if (typeof stored === "object" && stored !== null) {
    for (const k of OUTBOUND_SETTINGS) {
      const v = (stored as Record<string, unknown>)[k];
      if (typeof v === "boolean") out[k] = v;
    }
  }
  return out;
}

/** What an address is, for the policy. */
export type AddressClass = "public" | "private" | "loopback" | "link-local" | "metadata";

/** The four bytes of a dotted-quad IPv4 address, or undefined. */
export function parseIPv4(text: string): number[] | undefined {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(text);
  if (!m) return undefined;
  const bytes = m.slice(1).map(Number);
  return bytes.every((b) => b <= 255) ? bytes : undefined;
}

/** The sixteen bytes of an IPv6 address (with `::` and a trailing dotted quad), or undefined. */
export function parseIPv6(text: string): number[] | undefined {
  let s = text.startsWith("[") && text.endsWith("]") ? text.slice(1, -1) : text;
  if (s.includes("%")) s = s.slice(0, s.indexOf("%"));
  if (!/^[0-9a-fA-F:.]+$/.test(s) || !s.includes(":")) return undefined;
  let tail: number[] = [];
  const lastColon = s.lastIndexOf(":");
  if (s.slice(lastColon + 1).includes(".")) {
    const v4 = parseIPv4(s.slice(lastColon + 1));
    if (!v4) return undefined;
    tail = v4;
    s = s.slice(0, lastColon + 1) + "0:0";
  }
  const halves = s.split("::");
  if (halves.length > 2) return undefined;
  const groups = (part: string) => part === "" ? [] : part.split(":");
  const head = groups(halves[0]);
  const rest = halves.length === 2 ? groups(halves[1]) : [];
  const fill = 8 - head.length - rest.length;
  if (halves.length === 2 ? fill < 1 : fill !== 0) return undefined;
  const all = [...head, ...Array(halves.length === 2 ? fill : 0).fill("0"), ...rest];
  const bytes: number[] = [];
  for (const g of all) {
    if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return undefined;
    const n = parseInt(g, 16);
    bytes.push(n >> 8, n & 0xff);
  }
  if (tail.length) bytes.splice(12, 4, ...tail);
  return bytes;
}

function classifyV4([a, b, c, d]: number[]): AddressClass {
  if (a === 100 && b === 100 && c === 100 && d === 200) return "metadata"; // Alibaba Cloud
  if (a === 169 && b === 254) return c === 169 && d === 254 ? "metadata" : "link-local";
  // 0.0.0.0/8 is "this host": connecting to it reaches local services on Linux.
  if (a === 127 || a === 0) return "loopback";
  if (a === 10 || (a === 172 && b >= 16 && b <= 31) || (a === 192 && b === 168)) {
    return "private";
  }
  if (a === 100 && b >= 64 && b <= 127) return "private"; // shared address space (CGNAT, tailnets)
  return "public";
}

/** The class of a literal IPv4 or IPv6 address; undefined when `ip` is not one. */
export function classifyAddress(ip: string): AddressClass | undefined {
  const v4 = parseIPv4(ip);
  if (v4) return classifyV4(v4);
  const b = parseIPv6(ip);
  if (!b) return undefined;
  const zeros = (from: number, to: number) => b.slice(from, to).every((x) => x === 0);
  if (zeros(0, 16)) return "loopback"; // ::, like 0.0.0.0
  if (zeros(0, 15) && b[15] === 1) return "loopback";
  // IPv4 inside IPv6 reaches the IPv4 address: mapped (::ffff:a.b.c.d), the
  // deprecated compatible form (::a.b.c.d) and NAT64 (64:ff9b::a.b.c.d).
  const mapped = zeros(0, 10) && b[10] === 0xff && b[11] === 0xff;
  const nat64 = b[0] === 0 && b[1] === 0x64 && b[2] === 0xff && b[3] === 0x9b && zeros(4, 12);
  if (mapped || nat64 || zeros(0, 12)) return classifyV4(b.slice(12));
  // fd00:ec2::254, the AWS metadata endpoint over IPv6 (inside fc00::/7, so checked first).
  if (
    b[0] === 0xfd && b[1] === 0 && b[2] === 0x0e && b[3] === 0xc2 && zeros(4, 14) &&
    b[14] === 0x02 && b[15] === 0x54
  ) return "metadata";
  if (b[0] === 0xfe && (b[1] & 0xc0) === 0x80) return "link-local";
  if ((b[0] & 0xfe) === 0xfc) return "private";
  return "public";
}

/** Host names of cloud metadata services, refused without a lookup. */
export const METADATA_NAMES: ReadonlySet<string> = new Set([
  "metadata.google.internal",
  "metadata",
]);

/** The setting that governs `cls`, or undefined for public addresses (always allowed). */
export function settingFor(cls: AddressClass): keyof OutboundPolicy | undefined {
  switch (cls) {
    case "private":
      return "allowPrivateNetworks";
    case "loopback":
      return "allowLoopback";
    case "link-local":
    case "metadata":
      return "allowLinkLocal";
    default:
      return undefined;
  }
}

const DESCRIBE: Record<AddressClass, string> = {
  public: "a public address",
  private: "a private-network address",
  loopback: "a loopback address (this machine)",
  "link-local": "a link-local address",
  metadata: "a cloud-metadata address (where cloud instance credentials are served)",
};

/** Looks up the addresses of `host` for one record type; throws like `Deno.resolveDns`. */
export type DnsLookup = (
  host: string,
  type: "A" | "AAAA",
  signal: AbortSignal,
) => Promise<string[]>;

const denoLookup: DnsLookup = (host, type, signal) => Deno.resolveDns(host, type, { signal });

/** The decision about one destination. */
export type Decision =
  | {
    ok: true;
    /** The IP to connect to when the connection must be pinned (plain http to a resolved name). */
    pin?: string;
  }
  | { ok: false; cause: "blocked" | "dns"; message: string };

/** Options of {@link OutboundGuard}. */
export interface OutboundGuardOptions {
  /** DNS lookups (default `Deno.resolveDns`); tests substitute their own. */
  lookup?: DnsLookup;
  /** Where names missing from DNS are looked up next (default `/etc/hosts`). */
  hostsFile?: string;
  /** Pinned HTTP clients kept for reuse (default 64). */
  maxClients?: number;
  /**
   * How long a name's checked addresses are reused, in ms (default 30 s; 0
   * looks up every time). Without it every tool call to a named host waits
   * on two DNS queries.
   */
  dnsCacheMs?: number;
}

/** Names whose addresses are remembered at most (oldest dropped first). */
const DNS_CACHE_ENTRIES = 1024;

/** Host names whose kind is remembered at most (all forgotten at once past it). */
const HOST_KIND_ENTRIES = 1024;

/**
 * What a URL's host name is, worked out once per distinct name: its
 * normalized form and, when no DNS can change the answer (an address literal,
 * a metadata or localhost name), the address and class it is judged as.
 */
interface HostKind {
  host: string;
  fixed?: { ip: string; cls: AddressClass };
}

const ALLOWED: Decision = Object.freeze({ ok: true });

/** How long an evicted pinned client lives on, so in-flight responses can finish (ms). */
const RETIRE_AFTER_MS = 310_000;

/**
 * Decides whether a URL may be fetched under a policy, and holds the pinned
 * HTTP clients used for plain-http names. {@link close} releases them.
 */
export class OutboundGuard {
  readonly #lookup: DnsLookup;
  readonly #hostsFile: string;
  readonly #maxClients: number;
  readonly #dnsCacheMs: number;
  readonly #resolved = new Map<string, { addresses: string[]; until: number }>();
  // Every tool call's destination is checked: parsing its host once per name, not per call.
  readonly #kinds = new Map<string, HostKind>();
  readonly #clients = new Map<string, Deno.HttpClient>();
  readonly #retiring = new Map<Deno.HttpClient, ReturnType<typeof setTimeout>>();

  /** A guard with `options` (defaults suit production). */
  constructor(options: OutboundGuardOptions = {}) {
    this.#lookup = options.lookup ?? denoLookup;
    this.#hostsFile = options.hostsFile ?? "/etc/hosts";
    this.#maxClients = options.maxClients ?? 64;
    this.#dnsCacheMs = options.dnsCacheMs ?? 30_000;
  }

  /**
   * Checks `url` against `policy`: literal addresses directly, names through
   * DNS (every address must be allowed). `orgSlug` only words the hint.
   */
  async check(
    url: URL,
    policy: OutboundPolicy,
    signal: AbortSignal,
    orgSlug?: string,
  ): Promise<Decision> {
    const { host, fixed } = this.#kindOf(url.hostname);
    if (fixed) return this.#judge(host, fixed.ip, fixed.cls, policy, orgSlug) ?? ALLOWED;
    const addresses = await this.#resolve(host, signal);
    if (addresses.length === 0) {
      return {
        ok: false,
        cause: "dns",
        message: `DNS lookup failed for '${host}': the host name could not be resolved`,
      };
    }
    for (const ip of addresses) {
      const refused = this.#judge(host, ip, classifyAddress(ip) ?? "public", policy, orgSlug);
      if (refused) return refused;
    }
    return url.protocol === "http:" ? { ok: true, pin: addresses[0] } : { ok: true };
  }

  #kindOf(hostname: string): HostKind {
    let kind = this.#kinds.get(hostname);
    if (kind) return kind;
    const host = hostname.replace(/^\[|\]$/g, "").toLowerCase().replace(/\.$/, "");
    const literal = classifyAddress(host);
    if (literal) kind = { host, fixed: { ip: host, cls: literal } };
    else if (METADATA_NAMES.has(host)) kind = { host, fixed: { ip: host, cls: "metadata" } };
    // RFC 6761: localhost names are this machine, whatever a DNS server says.
    else if (host === "localhost" || host.endsWith(".localhost")) {
      kind = { host, fixed: { ip: "localhost", cls: "loopback" } };
    } else kind = { host };
    if (this.#kinds.size >= HOST_KIND_ENTRIES) this.#kinds.clear();
    this.#kinds.set(hostname, kind);
    return kind;
  }

  #judge(
    host: string,
    ip: string,
    cls: AddressClass,
    policy: OutboundPolicy,
    orgSlug = "{slug}",
  ): Decision | undefined {
    const setting = settingFor(cls);
    if (!setting || policy[setting]) return undefined;
    const where = host === ip ? host : `${host} (${ip})`;
    return {
      ok: false,
      cause: "blocked",
      message: `refused to connect to ${where}: it is ${DESCRIBE[cls]}, which this ` +
        `organization's outbound policy does not allow. An owner or admin can allow it with ` +
        `PATCH /orgs/${orgSlug} {"settings":{"outbound":{"${setting}":true}}}`,
    };
  }

  /**
   * Every A and AAAA address of `host`, reused for a short while; names DNS
   * does not know are looked up in the hosts file. Failures are not kept.
   */
  async #resolve(host: string, signal: AbortSignal): Promise<string[]> {
    const now = Date.now();
    const hit = this.#resolved.get(host);
    if (hit && hit.until > now) return hit.addresses;
    const addresses = await this.#lookupAll(host, signal);
    if (addresses.length > 0 && this.#dnsCacheMs > 0) {
      this.#resolved.delete(host);
      if (this.#resolved.size >= DNS_CACHE_ENTRIES) {
        this.#resolved.delete(this.#resolved.keys().next().value!);
      }
      this.#resolved.set(host, { addresses, until: now + this.#dnsCacheMs });
    }
    return addresses;
  }

  async #lookupAll(host: string, signal: AbortSignal): Promise<string[]> {
    const [a, aaaa] = await Promise.allSettled([
      this.#lookup(host, "A", signal),
      this.#lookup(host, "AAAA", signal),
    ]);
    signal.throwIfAborted();
    const found = [
      ...(a.status === "fulfilled" ? a.value : []),
      ...(aaaa.status === "fulfilled" ? aaaa.value : []),
    ];
    if (found.length > 0) return found;
    // fetch resolves through the system (which reads /etc/hosts); Deno.resolveDns does not.
    return await this.#fromHostsFile(host);
  }

  async #fromHostsFile(host: string): Promise<string[]> {
    let text: string;
    try {
      text = await Deno.readTextFile(this.#hostsFile);
    } catch {
      return [];
    }
    const out: string[] = [];
    for (const line of text.split("\n")) {
      const [ip, ...names] = line.replace(/#.*/, "").trim().split(/\s+/);
      if (ip && names.some((n) => n.toLowerCase() === host) && classifyAddress(ip)) out.push(ip);
    }
    return out;
  }

  /** {@link check}, then the pinned client the decision calls for: what one fetch needs. */
  async decide(
    url: URL,
    policy: OutboundPolicy,
    signal: AbortSignal,
    orgSlug?: string,
  ): Promise<HopDecision> {
    const d = await this.check(url, policy, signal, orgSlug);
    if (!d.ok) return d;
    return d.pin ? { ok: true, client: this.pinnedClient(url, d.pin) } : { ok: true };
  }

  /** A client whose connections all go to `ip` (port from `url`), reused per address. */
  pinnedClient(url: URL, ip: string): Deno.HttpClient {
    const port = Number(url.port || (url.protocol === "https:" ? 443 : 80));
    const key = `${ip}|${port}`;
    const hit = this.#clients.get(key);
    if (hit) {
      // Most recently used last, so eviction takes the least recently used.
      this.#clients.delete(key);
      this.#clients.set(key, hit);
      return hit;
    }
    const client = Deno.createHttpClient({ proxy: { transport: "tcp", hostname: ip, port } });
    this.#clients.set(key, client);
    if (this.#clients.size > this.#maxClients) {
      const [oldKey, old] = this.#clients.entries().next().value!;
      this.#clients.delete(oldKey);
      // A response may still be streaming through it: close it only after the longest timeout.
      const timer = setTimeout(() => {
        this.#retiring.delete(old);
        old.close();
      }, RETIRE_AFTER_MS);
      Deno.unrefTimer(timer);
      this.#retiring.set(old, timer);
    }
    return client;
  }

  /** Closes every pinned client (the server is stopping). */
  close(): void {
    for (const c of this.#clients.values()) c.close();
    this.#clients.clear();
    for (const [c, timer] of this.#retiring) {
      clearTimeout(timer);
      c.close();
    }
    this.#retiring.clear();
  }
}

/** An org's outbound policy, with its slug (for hints). */
export interface OrgPolicy {
  policy: OutboundPolicy;
  slug: string;
}

/** The outbound policy per org, read from the store once and cached until any org's settings change. */
export class OrgOutboundPolicies {
  readonly #cache = new Map<string, OrgPolicy>();
  #version = -1;

  /** Policies of the orgs in `store`. */
  constructor(private readonly store: Store) {}

  /**
   * The policy of `orgId` and its slug (for hints); defaults for an unknown
   * org. From memory once read (a promise only when it must be read first).
   */
  get(orgId: string): OrgPolicy | Promise<OrgPolicy> {
    // A counter compare, not a query: this runs on every tool call.
    const version = this.store.orgs.settingsVersion;
    if (this.#version !== version) {
      this.#cache.clear();
      this.#version = version;
    }
    return this.#cache.get(orgId) ?? this.#load(orgId, version);
  }

  async #load(orgId: string, version: number): Promise<OrgPolicy> {
    const org = await this.store.orgs.get(orgId);
    const hit = {
      policy: org ? outboundPolicyOf(org.settings) : { ...DEFAULT_OUTBOUND_POLICY },
      slug: org?.slug ?? "{slug}",
    };
    // Kept only if no settings changed while it was read: it may hold the old policy.
    if (this.store.orgs.settingsVersion === version) this.#cache.set(orgId, hit);
    return hit;
  }
}
