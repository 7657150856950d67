/**
 * `deno task demo-api`: a tiny REST API for the README walkthrough to call
 * through a gateway. It serves 50 made-up users, always the same ones:
 *
 * - `GET /users?page=1&limit=10` -> `{page, limit, total, users: [{id, name, email}]}`
 *   (`page` from 1, `limit` from 1 to 100, both optional; anything else is a 400)
 * - `GET /users/{id}` -> one user, or 404
 *
 * It listens on 127.0.0.1, on the port from `--port N`, else `DEMO_API_PORT`,
 * else 8788. When `DEMO_API_TOKEN` is set, every request must carry
 * `Authorization: Bearer <that token>` (401 otherwise), so a gateway secret
 * has something to authenticate.
 *
 * @module
 */

/** The port used when neither `--port` nor `DEMO_API_PORT` gives one. */
export const DEFAULT_DEMO_API_PORT = 8788;

/** A user as the API returns it. */
export interface DemoUser {
  id: number;
  name: string;
  email: string;
}

const FIRST = ["Alice", "Bob", "Carol", "Dave", "Erin", "Frank", "Grace", "Heidi", "Ivan", "Judy"];
const LAST = ["Smith", "Jones", "Garcia", "Chen", "Okafor"];

/** The 50 users, ids 1 to 50: every first name with Smith, then with Jones, and so on. */
export const DEMO_USERS: readonly DemoUser[] = Array.from({ length: 50 }, (_, i) => {
  const first = FIRST[i % FIRST.length];
  const last = LAST[Math.floor(i / FIRST.length)];
  return {
    id: i + 1,
    name: `${first} ${last}`,
    email: `${first}.${last}@example.com`.toLowerCase(),
  };
});

/** One page of users, as `GET /users` answers it. */
export function usersPage(page: number, limit: number) {
  return {
    page,
    limit,
    total: DEMO_USERS.length,
    users: DEMO_USERS.slice((page - 1) * limit, page * limit),
  };
}

function problem(status: number, message: string, headers: HeadersInit = {}): Response {
  return Response.json({ error: message }, { status, headers });
}

/** An integer query parameter from `min` to `max`, `fallback` when absent, or undefined when bad. */
function intParam(
  params: URLSearchParams,
  name: string,
  fallback: number,
  min: number,
  max: number,
): number | undefined {
  const raw = params.get(name);
  if (raw === null || raw === "") return fallback;
  if (!/^\d{1,6}$/.test(raw)) return undefined;
  const n = Number(raw);
  return n >= min && n <= max ? n : undefined;
}

/** The API's request handler; `token`, when given, is the bearer token every request needs. */
export function demoApiHandler(token?: string): (req: Request) => Response {
  return (req) => {
    if (token && req.headers.get("authorization") !== `Bearer ${token}`) {
      return problem(401, "missing or wrong bearer token", {
        "www-authenticate": 'Bearer realm="demo-api"',
      });
    }
    const url = new URL(req.url);
    const path = url.pathname.replace(/\/+$/, "");
    if (path !== "/users" && !/^\/users\/[^/]+$/.test(path)) {
      return problem(404, `no route ${url.pathname}; try GET /users?page=1&limit=10`);
    }
    if (req.method !== "GET" && req.method !== "HEAD") {
      return problem(405, `${req.method} is not supported; use GET`, { allow: "GET, HEAD" });
    }
    if (path === "/users") {
      const page = intParam(url.searchParams, "page", 1, 1, 100_000);
      if (page === undefined) return problem(400, "page must be an integer from 1");
      const limit = intParam(url.searchParams, "limit", 10, 1, 100);
      if (limit === undefined) return problem(400, "limit must be an integer from 1 to 100");
      return Response.json(usersPage(page, limit));
    }
    const user = DEMO_USERS.find((u) => `/users/${u.id}` === path);
    return user ? Response.json(user) : problem(404, "no such user");
  };
}

/** The port from `--port N` / `--port=N`, else `env`, else the default; throws when unusable. */
export function demoApiPort(args: string[], env: string | undefined): number {
  let raw: string | undefined = env;
  for (let i = 0; i < args.length; i++) {
    if (args[i] === "--port") raw = args[++i];
    else if (args[i].startsWith("--port=")) raw = args[i].slice("--port=".length);
    else throw new Error(`unknown argument '${args[i]}' (only --port N is understood)`);
  }
  if (raw === undefined || raw === "") return DEFAULT_DEMO_API_PORT;
  const port = Number(raw);
  if (!/^\d+$/.test(raw) || port > 65535) {
    throw new Error(`port must be a number from 0 to 65535, got '${raw}'`);
  }
  return port;
}

if (import.meta.main) {
  let port: number;
  try {
    port = demoApiPort(Deno.args, Deno.env.get("DEMO_API_PORT"));
  } catch (err) {
    console.error(`demo-api: ${(err as Error).message}`);
    Deno.exit(2);
  }
  const token = Deno.env.get("DEMO_API_TOKEN") || undefined;
  Deno.serve({
    hostname: "127.0.0.1",
    port,
    onListen: ({ port }) => {
      // On stderr, so that a shell piping JSON answers keeps a clean stdout.
      console.error(
        `demo-api listening on http://127.0.0.1:${port} (GET /users?page=&limit=)` +
          (token ? ", bearer token required" : ", no token required (DEMO_API_TOKEN unset)"),
      );
    },
  }, demoApiHandler(token));
}
