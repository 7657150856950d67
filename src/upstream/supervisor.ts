/**
 * The supervisor keeps one connection per upstream server: it connects
 * (starting the process of a stdio server), reads what the server offers,
 * keeps a status to show, reconnects or restarts with capped exponential
 * backoff when the connection or process is lost, and ends everything on
 * delete and at shutdown.
 *
 * @module
 */
import type { FetchLike } from "@modelcontextprotocol/sdk/shared/transport.js";
import type { UpstreamServer } from "../store/servers.ts";
import type { HopDecision } from "../tools/outbound.ts";
import { NO_REDACTION, type Redactor, redactorFor } from "../tools/response_content.ts";
import { type AuthMaterial, SecretError, type SecretResolver } from "../tools/secrets.ts";
import { compileString, renderString, secretNames } from "../tools/templates.ts";
import type { ServerHello, UpstreamConnection } from "./connection.ts";
import { guardedFetch } from "./http_fetch.ts";
import { LogBuffer } from "./log_buffer.ts";
import { StdioTransport } from "./stdio.ts";

/** The SDK-based connection kinds, loaded with the first connection (see `sdk_clients.ts`). */
let sdkModule: Promise<typeof import("./sdk_clients.ts")> | undefined;
function sdkClients(): Promise<typeof import("./sdk_clients.ts")> {
  return sdkModule ??= import("./sdk_clients.ts");
}

/** Where a server's connection stands. */
export type ServerState = "connecting" | "ready" | "degraded" | "failed";

/** A server's live status, as the API shows it: never a secret value. */
export interface ServerStatus {
  state: ServerState;
  protocolVersion: string | null;
  serverInfo: Record<string, unknown> | null;
  capabilities: Record<string, unknown> | null;
  /** How many tools, resources and prompts the server lists (null before the first listing). */
  tools: number | null;
  resources: number | null;
  prompts: number | null;
  lastRefreshAt: string | null;
  /** The last failure, redacted; kept after a recovery so a flapping server can be diagnosed. */
  lastError: string | null;
  /**
   * The protocol versions Gatehouse speaks with the server: two when it
   * speaks both eras (a session version, and 2026-07-28 for such clients).
   */
  protocolVersions: string[];
  /** How many times the connection was made again after being lost or failing. */
  restarts: number;
}

/** Everything a server lists, as it sent it (every page read). */
export interface Listing {
  tools: Record<string, unknown>[];
  resources: Record<string, unknown>[];
  resourceTemplates: Record<string, unknown>[];
  prompts: Record<string, unknown>[];
}

/**
 * The items of a server that speaks both protocol eras and lists them
 * differently: keys (`tool:name`, `prompt:name`, `resource:uri`,
 * `template:uriTemplate`) of what only one era's listing has.
 */
export interface EraOnly {
  legacy: ReadonlySet<string>;
  stateless: ReadonlySet<string>;
}

const NO_ERA_ONLY: EraOnly = { legacy: new Set(), stateless: new Set() };

/** How a server that speaks both eras differs between them. */
export interface EraDifferences {
  /** What it announced on its 2026-07-28 connection. */
  statelessCapabilities?: Record<string, unknown>;
  eraOnly: EraOnly;
}

/**
 * Receives a server's complete listing, the capabilities it announced and
 * how its eras differ.
 */
export type Listed = (
  server: UpstreamServer,
  listing: Listing,
  capabilities: Record<string, unknown>,
  eras: EraDifferences,
) => Promise<void>;

/** Checks a destination for an org (its outbound policy). */
export type OrgDestinationCheck = (
  orgId: string,
  url: URL,
  signal: AbortSignal,
) => Promise<HopDecision>;

/** What the supervisor is built from. */
export interface SupervisorOptions {
  /** Secrets for `{{secrets.NAME}}` in headers and env, and for `auth.secret`. */
  secrets: SecretResolver;
  /** The outbound policy check applied to every HTTP request to an upstream. */
  check: OrgDestinationCheck;
  /** First reconnect delay in ms (default 500); each failure doubles it. */
  backoffBaseMs?: number;
  /** Longest reconnect delay in ms (default 30 s). */
  backoffMaxMs?: number;
  /** Request timeout when the server sets none, in ms (default 30 s). */
  defaultTimeoutMs?: number;
  /** Whether stdio servers may run (`GATEHOUSE_ALLOW_STDIO`; default true). */
  allowStdio?: boolean;
  /** Environment variables a stdio server inherits from Gatehouse (default PATH, HOME, TLS roots, proxies and a few). */
  inheritEnv?: readonly string[];
  /** Reads Gatehouse's environment for what stdio servers inherit (default `Deno.env.get`). */
  environment?: (name: string) => string | undefined;
  /** Called after every complete listing of a server (connect, refresh, list_changed). */
  onListed?: Listed;
  /** How often a connected server is listed again, in ms (default 5 min). */
  refreshIntervalMs?: number;
}

/**
 * What a stdio server inherits from Gatehouse's environment: enough to find
 * commands and their caches, and to reach the network the way Gatehouse does
 * (the host's extra TLS roots and proxies: without them `npx` or `deno run
 * npm:` behind an intercepting proxy fails to fetch its package with "invalid
 * peer certificate"), and nothing else (Gatehouse's own environment holds its
 * secret key and admin key).
 */
const INHERITED_ENV = [
  "PATH",
  "HOME",
  "USER",
  "LANG",
  "LC_ALL",
  "TZ",
  "TMPDIR",
  "DENO_DIR",
  "NODE_EXTRA_CA_CERTS",
  "DENO_CERT",
  "DENO_TLS_CA_STORE",
  "SSL_CERT_FILE",
  "SSL_CERT_DIR",
  "HTTP_PROXY",
  "HTTPS_PROXY",
  "NO_PROXY",
  "http_proxy",
  "https_proxy",
  "no_proxy",
];

/**
 * The password of a proxy URL (`http://user:password@proxy:3128`): the
 * operator's, which a child's stderr (readable by the org's viewers) must not
 * show when a tool prints its proxy settings.
 */
function proxyPassword(value: string): string | undefined {
  try {
    const password = new URL(value).password;
    return password ? decodeURIComponent(password) : undefined;
  } catch {
    return undefined;
  }
}

/** The variables of `names` that `read` finds, and the proxy passwords among their values. */
function inheritedEnvironment(
  names: readonly string[],
  read: (name: string) => string | undefined,
): { env: Record<string, string>; hidden: string[] } {
  const env: Record<string, string> = {};
  const hidden: string[] = [];
  for (const name of names) {
    const value = read(name);
    if (value === undefined) continue;
    env[name] = value;
    const password = name.toLowerCase().endsWith("_proxy") ? proxyPassword(value) : undefined;
    if (password) hidden.push(password);
  }
  return { env, hidden };
}

/**
 * The client capabilities a connection shared by every caller declares: all
 * Gatehouse can relay, since some caller may answer them (one that cannot
 * gets its upstream a JSON-RPC error saying so).
 */
export const RELAYED_CAPABILITIES: Readonly<Record<string, unknown>> = {
  sampling: {},
  elicitation: { form: {}, url: {} },
  roots: {},
};

/** Failures in a row after which a server that was ready counts as failed, not degraded. */
const DEGRADED_ATTEMPTS = 5;
/** At most this many pages of one list are read (a server repeating cursors must not loop). */
const MAX_PAGES = 1000;

/** The lists a server has: where each goes in a {@link Listing}, and what names an item. */
const LISTS = [
  { key: "tools", capability: "tools", method: "tools/list", kind: "tool", id: "name" },
  {
    key: "resources",
    capability: "resources",
    method: "resources/list",
    kind: "resource",
    id: "uri",
  },
  {
    key: "resourceTemplates",
    capability: "resources",
    method: "resources/templates/list",
    kind: "template",
    id: "uriTemplate",
  },
  { key: "prompts", capability: "prompts", method: "prompts/list", kind: "prompt", id: "name" },
] as const;

/** The status of a server not yet connected. */
function initialStatus(): ServerStatus {
  return {
    state: "connecting",
    protocolVersion: null,
    serverInfo: null,
    capabilities: null,
    tools: null,
    resources: null,
    prompts: null,
    lastRefreshAt: null,
    lastError: null,
    protocolVersions: [],
    restarts: 0,
  };
}

/** One server's connection, status, logs and restart schedule. */
class Link {
  status = initialStatus();
  readonly logs = new LogBuffer();
  conn?: UpstreamConnection;
  /** The stdio process id while one runs. */
  pid?: number;
  redact: Redactor = NO_REDACTION;
  /** Every secret value used for this server so far (an old one may still be echoed). */
  sensitive = new Set<string>();
  /** The last complete listing (both eras' items, for a server that speaks both). */
  listing?: Listing;
  /**
   * The 2026-07-28 connection of a Streamable HTTP server that also speaks
   * the session era (`conn` then is the session one); for a server that
   * speaks only 2026-07-28, `conn` is that connection and this is unset.
   */
  modern?: UpstreamConnection;
  /** What the server announced on `modern`. */
  modernCapabilities?: Record<string, unknown>;
  /** What only one era lists, when the server speaks both. */
  eraOnly: EraOnly = NO_ERA_ONLY;
  failures = 0;
  everReady = false;
  stopped = false;
  timer?: ReturnType<typeof setTimeout>;
  /** Lists the server again now and then, while connected. */
  ticker?: ReturnType<typeof setInterval>;
  /** The connection attempt under way, which refresh waits on. */
  pending?: Promise<void>;
  /** A discovery under way (list_changed notifications arrive in bursts). */
  discovering?: Promise<void>;
  /** Another discovery was asked for while one ran: it runs once that one ends. */
  again = false;

  constructor(public server: UpstreamServer) {}
}

/** A failure message safe to show: redacted, and short. */
export function messageOf(err: unknown, redact: Redactor): string {
  const text = err instanceof Error ? err.message : String(err);
  const clean = redact(text).replace(/\s+/g, " ").trim();
  return clean.length > 500 ? `${clean.slice(0, 500)}…` : clean || "unknown error";
}

/** Keeps every upstream server connected and its status current. */
export class Supervisor {
  readonly #links = new Map<string, Link>();
  readonly #secrets: SecretResolver;
  readonly #check: OrgDestinationCheck;
  readonly #baseMs: number;
  readonly #maxMs: number;
  readonly #timeoutMs: number;
  /** What stdio servers inherit, read once, and the proxy passwords in it to hide. */
  readonly #inherited: { env: Readonly<Record<string, string>>; hidden: readonly string[] };
  readonly #allowStdio: boolean;
  readonly #onListed?: Listed;
  readonly #refreshMs: number;
  #closed = false;

  /** A supervisor with `options`; it connects nothing until told to. */
  constructor(options: SupervisorOptions) {
    this.#secrets = options.secrets;
    this.#check = options.check;
    this.#baseMs = options.backoffBaseMs ?? 500;
    this.#maxMs = options.backoffMaxMs ?? 30_000;
    this.#timeoutMs = options.defaultTimeoutMs ?? 30_000;
    this.#inherited = inheritedEnvironment(
      options.inheritEnv ?? INHERITED_ENV,
      options.environment ?? ((name) => Deno.env.get(name)),
    );
    this.#allowStdio = options.allowStdio ?? true;
    this.#onListed = options.onListed;
    this.#refreshMs = options.refreshIntervalMs ?? 300_000;
  }

  /** Connects every server in `servers` (at start-up). */
  async start(servers: readonly UpstreamServer[]): Promise<void> {
    for (const s of servers) await this.upsert(s);
  }

  /** Starts (or restarts, with new settings) the connection of `server`. */
  async upsert(server: UpstreamServer): Promise<void> {
    if (this.#closed) return;
    const old = this.#links.get(server.id);
    if (old) await this.#stop(old);
    const link = new Link(server);
    this.#links.set(server.id, link);
    this.#connect(link);
  }

  /** Ends the connection (and process) of server `id`. */
  async remove(id: string): Promise<void> {
    const link = this.#links.get(id);
    if (!link) return;
    this.#links.delete(id);
    await this.#stop(link);
  }

  /** The status of server `id` (connecting when the supervisor does not know it yet). */
  status(id: string): ServerStatus {
    return structuredClone(this.#links.get(id)?.status ?? initialStatus());
  }

  /** The stderr lines kept for server `id`, redacted, and how many older ones were dropped. */
  logs(id: string): { lines: string[]; dropped: number } {
    const link = this.#links.get(id);
    if (!link) return { lines: [], dropped: 0 };
    return { lines: link.logs.lines().map((l) => link.redact(l)), dropped: link.logs.dropped };
  }

  /** The ids of the servers the supervisor knows. */
  serverIds(): string[] {
    return [...this.#links.keys()];
  }

  /** The settings server `id` runs with, while the supervisor knows it. */
  server(id: string): UpstreamServer | undefined {
    return this.#links.get(id)?.server;
  }

  /**
   * The connection the supervisor keeps to server `id` (discovery, and the
   * calls that may share it), while it is up.
   */
  shared(id: string, stateless = false): UpstreamConnection | undefined {
    const link = this.#links.get(id);
    if (link?.status.state !== "ready") return undefined;
    return (stateless ? link.modern : undefined) ?? link.conn;
  }

  /**
   * What server `id` announced to clients of one era: a server that speaks
   * both may offer 2026-07-28 clients more. Null before it first connected.
   */
  capabilities(id: string, stateless = false): Record<string, unknown> | null {
    const link = this.#links.get(id);
    const caps = link?.status.capabilities ?? null;
    // One server behind both connections: what either era announces, it has.
    if (stateless && link?.modernCapabilities) return { ...caps, ...link.modernCapabilities };
    return caps;
  }

  /** What only one era's listing of server `id` holds (nothing, unless it speaks both). */
  eraOnly(id: string): EraOnly {
    return this.#links.get(id)?.eraOnly ?? NO_ERA_ONLY;
  }

  /**
   * A new connection to server `id`, not yet connected, with the server's
   * current credentials (for a stdio server: a new process, whose stderr
   * joins the server's log). The caller connects and closes it.
   */
  async open(
    id: string,
    capabilities: Record<string, unknown> = RELAYED_CAPABILITIES,
  ): Promise<UpstreamConnection> {
    const link = this.#links.get(id);
    if (!link) throw new Error("the server was removed");
    return await this.#open(link, false, capabilities);
  }

  /** The redactor for what server `id` answers (its secret values, in every spelling). */
  redactor(id: string): Redactor {
    return this.#links.get(id)?.redact ?? NO_REDACTION;
  }

  /** How long one request to server `id` may take, in ms (its `timeout`, or the default). */
  timeout(id: string): number {
    return this.#links.get(id)?.server.timeout ?? this.#timeoutMs;
  }

  /**
   * Asks for a new listing of server `id` (a call met a name it does not
   * know); bursts of asks make one listing.
   */
  relist(id: string): void {
    const link = this.#links.get(id);
    if (link?.conn && link.status.state === "ready") void this.#discover(link, link.conn);
  }

  /** The process id of a running stdio server (tests check it is gone after delete). */
  pid(id: string): number | undefined {
    return this.#links.get(id)?.pid;
  }

  /**
   * Lists the server's tools, resources and prompts again; when it is not
   * connected, connects now (skipping the backoff wait). Resolves with the
   * status once done.
   */
  async refresh(id: string): Promise<ServerStatus> {
    const link = this.#links.get(id);
    if (!link) return initialStatus();
    if (link.pending) await link.pending;
    else if (link.conn && link.status.state === "ready") await this.#discover(link, link.conn);
    else {
      clearTimeout(link.timer);
      await this.#connect(link);
    }
    return this.status(id);
  }

  /** Ends every connection and process (Gatehouse is stopping). */
  async close(): Promise<void> {
    this.#closed = true;
    const links = [...this.#links.values()];
    this.#links.clear();
    await Promise.all(links.map((l) => this.#stop(l)));
  }

  async #stop(link: Link): Promise<void> {
    link.stopped = true;
    clearTimeout(link.timer);
    clearInterval(link.ticker);
    const conn = link.conn;
    const modern = link.modern;
    link.conn = undefined;
    link.modern = undefined;
    await Promise.all([conn?.close(), modern?.close()]);
    // A connect under way sees `stopped` and closes what it opened.
    await link.pending?.catch(() => {});
    link.pid = undefined;
  }

  /** One connection attempt; on failure, the next is scheduled. */
  #connect(link: Link): Promise<void> {
    const run = this.#attempt(link).finally(() => {
      if (link.pending === run) link.pending = undefined;
    });
    link.pending = run;
    return run;
  }

  async #attempt(link: Link): Promise<void> {
    if (link.stopped) return;
    let conn: UpstreamConnection | undefined;
    let modern: UpstreamConnection | undefined;
    try {
      // Asked first: a server that speaks only 2026-07-28 refuses initialize.
      let modernHello: ServerHello | undefined;
      if (link.server.transport === "streamable-http") {
        modern = await this.#openStateless(link);
        this.#hook(link, modern);
        modernHello = await modern.connect().catch(() => undefined);
        if (!modernHello) {
          await modern.close();
          modern = undefined;
        }
      }
      conn = await this.#open(link);
      if (link.stopped) {
        await Promise.all([conn.close(), modern?.close()]);
        return;
      }
      this.#hook(link, conn);
      link.conn = conn;
      let hello: ServerHello;
      try {
        hello = await conn.connect();
      } catch (err) {
        if (!modern || link.conn !== conn) throw err;
        // Only 2026-07-28 is spoken: that connection serves clients of both eras.
        await conn.close();
        link.conn = conn = modern;
        modern = undefined;
        hello = modernHello!;
      }
      link.modern = modern;
      link.modernCapabilities = modern ? modernHello!.capabilities : undefined;
      link.status.protocolVersion = hello.protocolVersion ?? null;
      link.status.protocolVersions = [hello.protocolVersion, modern && modernHello!.protocolVersion]
        .filter((v): v is string => typeof v === "string");
      link.status.serverInfo = hello.serverInfo ?? null;
      link.status.capabilities = hello.capabilities;
      await this.#list(link, conn);
      if (link.conn !== conn) return;
      // Stored before it is called ready: whoever sees "ready" finds what the server lists
      // (with PostgreSQL the write takes a round trip or more).
      await this.#publish(link);
      if (link.conn !== conn) return;
      link.status.state = "ready";
      link.failures = 0;
      link.everReady = true;
      clearInterval(link.ticker);
      const opened = conn;
      link.ticker = setInterval(() => {
        if (link.conn === opened && link.status.state === "ready") {
          void this.#discover(link, opened);
        }
      }, this.#refreshMs);
    } catch (err) {
      // What #stop did not know of yet is closed here, whether stopped or failed.
      const opened = [conn, modern].filter((c) => c !== undefined && c !== link.conn);
      await Promise.all(opened.map((c) => c!.close()));
      if (link.stopped) return;
      if (link.conn === conn) {
        link.conn = undefined;
        await conn?.close();
      }
      link.modern = undefined;
      link.pid = undefined;
      this.#failed(link, err);
    }
  }

  /** Watches `conn` of `link`: its loss makes the link reconnect; a list change, relist. */
  #hook(link: Link, conn: UpstreamConnection): void {
    conn.onClose((err) => this.#lost(link, conn, err));
    conn.onNotification((method) => {
      const primary = link.conn;
      if (
        method.endsWith("/list_changed") && primary && (primary === conn || link.modern === conn)
      ) {
        void this.#discover(link, primary);
      }
    });
  }

  /** A connection that was up ended: reconnect (restart the process) after a backoff. */
  #lost(link: Link, conn: UpstreamConnection, err?: Error): void {
    // While connecting, the attempt itself reports the failure.
    if (link.stopped || link.conn !== conn || link.pending) return;
    link.conn = undefined;
    link.pid = undefined;
    clearInterval(link.ticker);
    this.#failed(link, err ?? new Error("the connection to the server was closed"));
  }

  #failed(link: Link, err: unknown): void {
    link.status.lastError = messageOf(err, link.redact);
    link.failures++;
    link.status.state = link.everReady && link.failures < DEGRADED_ATTEMPTS ? "degraded" : "failed";
    const delay = Math.min(this.#baseMs * 2 ** (link.failures - 1), this.#maxMs);
    clearTimeout(link.timer);
    link.timer = setTimeout(() => {
      if (link.stopped || link.conn) return;
      link.status.restarts++;
      void this.#connect(link);
    }, delay);
  }

  /**
   * Lists again after a refresh or a list_changed notification; a failure is
   * kept as lastError. A request during a listing makes one more listing
   * after it, so a change announced mid-listing is not missed.
   */
  #discover(link: Link, conn: UpstreamConnection): Promise<void> {
    if (link.discovering) {
      link.again = true;
      return link.discovering;
    }
    const run = async () => {
      do {
        link.again = false;
        try {
          await this.#list(link, conn);
          if (link.conn === conn) await this.#publish(link);
        } catch (err) {
          // A server that cannot be listed any more (it restarted and forgot the session, or
          // broke) is treated as lost: connect again, with the usual backoff.
          if (link.conn === conn) {
            void conn.close();
            this.#lost(link, conn, err instanceof Error ? err : new Error(String(err)));
          }
        }
      } while (link.again && link.conn === conn && !link.stopped);
    };
    link.discovering = run().finally(() => link.discovering = undefined);
    return link.discovering;
  }

  async #publish(link: Link): Promise<void> {
    if (!link.listing || link.stopped) return;
    try {
      await this.#onListed?.(link.server, link.listing, link.status.capabilities ?? {}, {
        statelessCapabilities: link.modernCapabilities,
        eraOnly: link.eraOnly,
      });
    } catch (err) {
      // The listing is kept for the next try; the connection itself is fine.
      link.status.lastError = messageOf(err, link.redact);
      console.error(`storing what server '${link.server.name}' lists failed:`, err);
    }
  }

  /**
   * Reads every list of the server (both eras' lists, when it speaks both);
   * keeps them and the counts.
   */
  async #list(link: Link, conn: UpstreamConnection): Promise<void> {
    const modern = link.modern;
    const [listing, modernListing] = await Promise.all([
      listAll(conn, link.status.capabilities ?? {}),
      modern ? listAll(modern, link.modernCapabilities ?? {}) : undefined,
    ]);
    if (link.conn !== conn) return;
    if (modernListing) {
      const merged = mergeListings(listing, modernListing);
      link.listing = merged.listing;
      link.eraOnly = merged.eraOnly;
    } else {
      link.listing = listing;
      link.eraOnly = NO_ERA_ONLY;
    }
    link.status.tools = link.listing.tools.length;
    link.status.resources = link.listing.resources.length;
    link.status.prompts = link.listing.prompts.length;
    link.status.lastRefreshAt = new Date().toISOString();
  }

  /**
   * Resolves the server's secrets and makes its transport and connection (not
   * yet connected); the `primary` one is the supervisor's own, whose process
   * id the link keeps.
   */
  async #open(
    link: Link,
    primary = true,
    capabilities: Record<string, unknown> = RELAYED_CAPABILITIES,
  ): Promise<UpstreamConnection> {
    const s = link.server;
    if (s.transport === "stdio" && !this.#allowStdio) {
      throw new Error("stdio servers are turned off on this Gatehouse (GATEHOUSE_ALLOW_STDIO=0)");
    }
    const timeoutMs = s.timeout ?? this.#timeoutMs;
    if (s.transport === "stdio") {
      const { render } = await this.#credentials(link, s.env ?? {});
      const env: Record<string, string> = { ...this.#inherited.env };
      if (this.#inherited.hidden.length > 0) this.#hide(link, this.#inherited.hidden);
      for (const [k, v] of Object.entries(s.env ?? {})) env[k] = render(v);
      const transport = new StdioTransport(
        { command: s.command!, args: s.args ?? [], env, cwd: s.cwd },
        (text) => link.logs.write(text),
      );
      if (primary) {
        const start = transport.start.bind(transport);
        transport.start = async () => {
          await start();
          link.pid = transport.pid;
        };
      }
      return new (await sdkClients()).SdkConnection(transport, timeoutMs, capabilities);
    }
    const url = new URL(s.url!);
    const fetch = await this.#fetchFor(link);
    const sdk = await sdkClients();
    const transport = s.transport === "sse"
      ? sdk.sseTransport(url, fetch)
      : sdk.streamableHttpTransport(url, fetch);
    return new sdk.SdkConnection(transport, timeoutMs, capabilities);
  }

  /** A 2026-07-28 connection to the Streamable HTTP server of `link`, not yet connected. */
  async #openStateless(link: Link): Promise<UpstreamConnection> {
    const s = link.server;
    return new (await sdkClients()).StatelessConnection(
      new URL(s.url!),
      await this.#fetchFor(link),
      s.timeout ?? this.#timeoutMs,
      RELAYED_CAPABILITIES,
    );
  }

  /**
   * The guarded fetch for the HTTP server of `link`: its outbound policy,
   * headers and credential on every request.
   */
  async #fetchFor(link: Link): Promise<FetchLike> {
    const s = link.server;
    // Secrets are resolved for every request, so a changed secret or a renewed OAuth2 token
    // applies at once; this first resolution makes a missing secret fail the connection.
    const request = async () => {
      const { render, auth } = await this.#credentials(link, s.headers ?? {});
      // The credential's headers win over configured ones of the same name.
      const authNames = new Set(auth.headers.map(([k]) => k.toLowerCase()));
      const headers = [
        ...Object.entries(s.headers ?? {}).filter(([k]) => !authNames.has(k.toLowerCase()))
          .map(([k, v]) => [k, render(v)] as const),
        ...auth.headers,
      ];
      return { headers, query: auth.query };
    };
    await request();
    return guardedFetch(request, (u, signal) => this.#check(s.orgId, u, signal));
  }

  /**
   * The secrets `templated` values refer to and the server's `auth`
   * credential, resolved now; the link's redactor is updated to hide them.
   */
  async #credentials(link: Link, templated: Record<string, string>) {
    const s = link.server;
    const compiled = Object.values(templated).map(compileString);
    const { values, sensitive } = await this.#resolve(s.orgId, secretNames(compiled));
    let auth: Pick<AuthMaterial, "headers" | "query"> = { headers: [], query: [] };
    if (s.auth) {
      const material = await this.#authenticate(s.orgId, s.auth.secret);
      sensitive.push(...material.sensitive);
      auth = material;
    }
    this.#hide(link, sensitive);
    const render = (v: string) =>
      renderString(compileString(v), { args: {}, secrets: values }) ?? "";
    return { render, auth };
  }

  /** Adds `values` to what the link's status and logs show as `[REDACTED]`. */
  #hide(link: Link, values: readonly string[]): void {
    link.sensitive = new Set([...link.sensitive, ...values]);
    link.redact = redactorFor(link.sensitive);
  }

  async #resolve(
    orgId: string,
    names: readonly string[],
  ): Promise<{ values: Map<string, string>; sensitive: string[] }> {
    const values = new Map<string, string>();
    const sensitive: string[] = [];
    for (const name of names) {
      const found = await this.#secretCall(name, () => this.#secrets.resolve(orgId, name));
      if (found === undefined) throw missing(name);
      const value = typeof found === "string" ? found : found.value;
      values.set(name, value);
      sensitive.push(value, ...(typeof found === "string" ? [] : found.sensitive));
    }
    return { values, sensitive };
  }

  async #authenticate(orgId: string, name: string) {
    const material = await this.#secretCall(
      name,
      () => this.#secrets.authenticate?.(orgId, name) ?? Promise.resolve(undefined),
    );
    if (!material) throw missing(name);
    return material;
  }

  /** Runs a vault call; only a {@link SecretError}'s message is safe to show as it is. */
  async #secretCall<T>(name: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      if (err instanceof SecretError) throw err;
      throw new Error(`secret '${name}' could not be read`);
    }
  }
}

function missing(name: string): Error {
  return new Error(
    `secret '${name}' not configured for this organization; add it under /secrets`,
  );
}

/** Reads every page of each list `capabilities` announce on `conn`. */
async function listAll(
  conn: UpstreamConnection,
  capabilities: Record<string, unknown>,
): Promise<Listing> {
  const listing: Listing = { tools: [], resources: [], resourceTemplates: [], prompts: [] };
  for (const { key, capability, method } of LISTS) {
    if (capabilities[capability] === undefined) continue;
    let cursor: string | undefined;
    const seen = new Set<string>();
    for (let page = 0; page < MAX_PAGES; page++) {
      const result = await conn.request(method, cursor ? { cursor } : undefined);
      const items = result[key];
      if (Array.isArray(items)) {
        for (const item of items) {
          if (item !== null && typeof item === "object" && !Array.isArray(item)) {
            listing[key].push(item as Record<string, unknown>);
          }
        }
      }
      const next = result.nextCursor;
      if (typeof next !== "string" || next === "" || seen.has(next)) break;
      seen.add(next);
      cursor = next;
    }
  }
  return listing;
}

/** The key an item is matched by across eras, as {@link EraOnly} holds them. */
export function eraKey(kind: "tool" | "prompt" | "resource" | "template", id: string): string {
  return `${kind}:${id}`;
}

/**
 * One listing of a server that speaks both eras: every item of the session
 * era's listing (whose definition wins where both have an item), then what
 * only the 2026-07-28 listing has, and which items only one era lists.
 */
function mergeListings(legacy: Listing, modern: Listing): { listing: Listing; eraOnly: EraOnly } {
  const listing: Listing = { tools: [], resources: [], resourceTemplates: [], prompts: [] };
  const legacyOnly = new Set<string>();
  const statelessOnly = new Set<string>();
  for (const { key, kind, id } of LISTS) {
    const ids = (items: Record<string, unknown>[]) => new Set(items.map((i) => String(i[id])));
    const inLegacy = ids(legacy[key]);
    const inModern = ids(modern[key]);
    listing[key].push(...legacy[key]);
    for (const item of modern[key]) {
      if (!inLegacy.has(String(item[id]))) listing[key].push(item);
    }
    for (const i of inLegacy) if (!inModern.has(i)) legacyOnly.add(eraKey(kind, i));
    for (const i of inModern) if (!inLegacy.has(i)) statelessOnly.add(eraKey(kind, i));
  }
  return { listing, eraOnly: { legacy: legacyOnly, stateless: statelessOnly } };
}
