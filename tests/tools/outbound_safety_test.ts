/**
 * Outbound safety: link-local and cloud-metadata destinations are refused
 * before any connection (tools, redirects and OAuth2 token URLs), private and
 * loopback ranges follow the org's settings, and plain-http names are pinned
 * to the address that was checked.
 */
import assert from "node:assert/strict";
import { expectError, expectStatus, memberWithKey, withServer } from "../api/fixtures.ts";
import type { TestServer } from "../helpers/server.ts";
import { HttpExecutor } from "../../src/tools/http_executor.ts";
import {
  classifyAddress,
  DEFAULT_OUTBOUND_POLICY,
  type DnsLookup,
  OrgOutboundPolicies,
  OutboundGuard,
  type OutboundPolicy,
} from "../../src/tools/outbound_policy.ts";
import { errorText, httpTool, ok, textOf } from "./fixtures.ts";
import { startUpstream, testContext } from "./upstream.ts";
import { addSecret, httpTool as toolBody, resultText, toolGateway } from "../secrets/fixtures.ts";
import { openTestStore } from "../helpers/database.ts";

Deno.test("addresses are classified, IPv4 inside IPv6 included", () => {
  const table: [string, string | undefined][] = [
    ["127.0.0.1", "loopback"],
    ["127.255.0.9", "loopback"],
    ["0.0.0.0", "loopback"],
    ["10.1.2.3", "private"],
    ["172.16.0.1", "private"],
    ["172.31.255.255", "private"],
    ["172.32.0.1", "public"],
    ["192.168.1.1", "private"],
    ["100.64.0.1", "private"],
    ["100.100.100.200", "metadata"],
    ["169.254.169.254", "metadata"],
    ["169.254.1.1", "link-local"],
    ["8.8.8.8", "public"],
    ["::1", "loopback"],
    ["::", "loopback"],
    ["[::1]", "loopback"],
    ["fe80::1", "link-local"],
    ["febf:ffff::1", "link-local"],
    ["fc00::1", "private"],
    ["fd12:3456::1", "private"],
    ["fd00:ec2::254", "metadata"],
    ["FD00:EC2:0:0:0:0:0:254", "metadata"],
    ["::ffff:127.0.0.1", "loopback"],
    ["::ffff:7f00:1", "loopback"],
    ["::ffff:169.254.169.254", "metadata"],
    ["::ffff:a9fe:101", "link-local"],
    ["64:ff9b::a9fe:a9fe", "metadata"],
    ["::10.0.0.1", "private"],
    ["2001:db8::1", "public"],
    ["2606:4700::1111", "public"],
    ["example.com", undefined],
    ["1.2.3", undefined],
    ["256.1.1.1", undefined],
    ["1::2::3", undefined],
    ["1:2:3:4:5:6:7:8:9", undefined],
  ];
  for (const [ip, cls] of table) assert.equal(classifyAddress(ip), cls, ip);
});

const signal = () => new AbortController().signal;
const policy = (p: Partial<OutboundPolicy> = {}): OutboundPolicy => ({
  ...DEFAULT_OUTBOUND_POLICY,
  ...p,
});

/** A lookup answering from `table` (name -> addresses), recording every query. */
function fakeDns(table: Record<string, string[]>): { lookup: DnsLookup; asked: string[] } {
  const asked: string[] = [];
  const lookup: DnsLookup = (host, type) => {
    asked.push(`${host} ${type}`);
    const found = (table[host] ?? []).filter((ip) => ip.includes(":") === (type === "AAAA"));
    return found.length ? Promise.resolve(found) : Promise.reject(new Deno.errors.NotFound());
  };
  return { lookup, asked };
}

Deno.test("names are judged by every address they resolve to; metadata names need no lookup", async () => {
  const dns = fakeDns({
    "mixed.test": ["93.184.216.34", "169.254.169.254"],
    "internal.test": ["10.0.0.5", "fd12::5"],
    "public.test": ["93.184.216.34"],
  });
  const guard = new OutboundGuard({ lookup: dns.lookup, hostsFile: "/nonexistent" });
  try {
    const mixed = await guard.check(new URL("https://mixed.test/"), policy(), signal(), "acme");
    assert.equal(mixed.ok, false);
    assert.match(
      (mixed as { message: string }).message,
      /mixed\.test \(169\.254\.169\.254\).*cloud-metadata.*PATCH \/orgs\/acme \{"settings":\{"outbound":\{"allowLinkLocal":true\}\}\}/,
    );
    const internal = await guard.check(
      new URL("http://internal.test/"),
      policy({ allowPrivateNetworks: false }),
      signal(),
    );
    assert.match(
      (internal as { message: string }).message,
      /private-network.*allowPrivateNetworks/,
    );
    // Allowed: plain http is pinned to the checked address, https is not (TLS guards it).
    assert.deepEqual(await guard.check(new URL("http://internal.test/"), policy(), signal()), {
      ok: true,
      pin: "10.0.0.5",
    });
    assert.deepEqual(await guard.check(new URL("https://public.test/"), policy(), signal()), {
      ok: true,
    });
    const unknown = await guard.check(new URL("https://nowhere.test/"), policy(), signal());
    assert.deepEqual(unknown, {
      ok: false,
      cause: "dns",
      message: "DNS lookup failed for 'nowhere.test': the host name could not be resolved",
    });
    dns.asked.length = 0;
    for (const url of ["http://metadata.google.internal/", "http://METADATA./computeMetadata/"]) {
      const d = await guard.check(new URL(url), policy(), signal());
      assert.equal(d.ok, false, url);
    }
    const local = await guard.check(
      new URL("http://api.localhost:8080/"),
      policy({ allowLoopback: false }),
      signal(),
    );
    assert.match((local as { message: string }).message, /loopback.*allowLoopback/);
    assert.deepEqual(dns.asked, [], "no lookup for names decided by their spelling");
    // With the setting, metadata names pass the check (the network decides the rest).
    assert.equal(
      (await guard.check(new URL("http://metadata/"), policy({ allowLinkLocal: true }), signal()))
        .ok,
      true,
    );
  } finally {
    guard.close();
  }
});

Deno.test("names missing from DNS are looked up in the hosts file, like fetch would", async () => {
  const hosts = await Deno.makeTempFile();
  await Deno.writeTextFile(
    hosts,
    "# comment\n127.0.0.1 localhost\n169.254.169.254  creds.internal # x\n",
  );
  const guard = new OutboundGuard({ lookup: fakeDns({}).lookup, hostsFile: hosts });
  try {
    const d = await guard.check(new URL("http://creds.internal/"), policy(), signal());
    assert.match((d as { message: string }).message, /creds\.internal \(169\.254\.169\.254\)/);
  } finally {
    guard.close();
    await Deno.remove(hosts);
  }
});

Deno.test("plain-http names are pinned: the request goes to the checked address, Host intact", async () => {
  const up = startUpstream({ "/x": (req) => Response.json({ host: req.headers.get("host") }) });
  const port = new URL(up.url).port;
  // rebind.test exists only in this fake DNS: a request can only arrive through the pin.
  const guard = new OutboundGuard({
    lookup: fakeDns({ "rebind.test": ["127.0.0.1"] }).lookup,
    hostsFile: "/nonexistent",
  });
  const exec = new HttpExecutor({ guard });
  try {
    const tool = httpTool({ method: "GET", url: `http://rebind.test:${port}/x` });
    const result = ok(await exec.execute(tool, {}, testContext()));
    assert.equal(textOf(result), JSON.stringify({ host: `rebind.test:${port}` }));
    assert.equal(up.to("/x").length, 1);
  } finally {
    exec.close();
    await up.close();
  }
});

Deno.test("org policies are read once per org and re-read only after a settings change", async () => {
  const store = await openTestStore(":memory:");
  try {
    const owner = await store.users.ensure("o@example.com", "O");
    const org = await store.orgs.create("Acme", "acme", owner.id);
    const policies = new OrgOutboundPolicies(store);
    let reads = 0;
    const get = store.orgs.get.bind(store.orgs);
    store.orgs.get = (id) => {
      reads++;
      return get(id);
    };
    assert.deepEqual((await policies.get(org.id)).policy, policy());
    // Once read, answered from memory: not even a promise (every tool call asks).
    for (let i = 0; i < 100; i++) {
      const cached = policies.get(org.id);
      assert.ok(!(cached instanceof Promise));
      assert.deepEqual(cached.policy, policy());
    }
    assert.equal(reads, 1);
    assert.equal((await policies.get(org.id)).slug, "acme");
    await store.orgs.setSettings(org.id, { outbound: { allowLoopback: false } });
    assert.equal((await policies.get(org.id)).policy.allowLoopback, false);
    assert.equal((await policies.get(org.id)).policy.allowPrivateNetworks, true);
    assert.equal(reads, 2);
  } finally {
    await store.close();
  }
});

/** Records the URL of every fetch this process makes while `fn` runs. */
async function withFetchSpy<T>(fn: (urls: string[]) => Promise<T>): Promise<T> {
  const urls: string[] = [];
  const real = globalThis.fetch;
  globalThis.fetch = (input, init) => {
    urls.push(input instanceof Request ? input.url : String(input));
    return real(input, init);
  };
  try {
    return await fn(urls);
  } finally {
    globalThis.fetch = real;
  }
}

const setOutbound = (s: TestServer, outbound: Record<string, boolean>) =>
  s.api("PATCH", "/orgs/default", { settings: { outbound } });

Deno.test("link-local and metadata destinations are refused without a connection attempt", async () => {
  await withServer(async (s) => {
    const targets = {
      aws: "http://169.254.169.254/latest/meta-data/iam/security-credentials/",
      aws6: "http://[fd00:ec2::254]/latest/meta-data/",
      gcp: "http://metadata.google.internal/computeMetadata/v1/",
      alibaba: "http://100.100.100.200/latest/meta-data/",
      linklocal: "http://169.254.10.10:8080/",
      mapped: "http://[::ffff:169.254.169.254]/",
    };
    const gw = await toolGateway(
      s,
      Object.entries(targets).map(([n, url]) => toolBody(n, url, { timeout: 2000 })),
    );
    await withFetchSpy(async (urls) => {
      for (const name of Object.keys(targets)) {
        const started = performance.now();
        const r = await gw.call(name);
        assert.equal(r.isError, true, name);
        assert.match(
          resultText(r),
          /^refused to connect to .*outbound policy does not allow\. An owner or admin can allow it with PATCH \/orgs\/default \{"settings":\{"outbound":\{"allowLinkLocal":true\}\}\}$/,
        );
        assert.ok(performance.now() - started < 1000, `${name} took too long to refuse`);
      }
      const upstream = urls.filter((u) => !u.startsWith(s.url));
      assert.deepEqual(upstream, [], "no request left for a refused destination");
    });
    // Allowed by the org: the request is attempted (and fails on this network, as an error result).
    expectStatus(await setOutbound(s, { allowLinkLocal: true }), 200);
    await withFetchSpy(async (urls) => {
      const r = await gw.call("linklocal");
      assert.equal(r.isError, true);
      assert.doesNotMatch(resultText(r), /refused to connect/);
      assert.ok(urls.some((u) => u.startsWith("http://169.254.10.10:8080")), urls.join(" "));
    });
  });
});

Deno.test("allowLoopback=false refuses loopback upstreams in every spelling; true lets them through", async () => {
  const up = startUpstream({ "/x": () => Response.json({ ok: true }) });
  const port = new URL(up.url).port;
  try {
    await withServer(async (s) => {
      const spellings = {
        v4: `http://127.0.0.1:${port}/x`,
        other127: `http://127.1.2.3:${port}/x`,
        name: `http://localhost:${port}/x`,
        zero: `http://0.0.0.0:${port}/x`,
        mapped: `http://[::ffff:127.0.0.1]:${port}/x`,
        v6: `http://[::1]:${port}/x`,
      };
      const gw = await toolGateway(
        s,
        Object.entries(spellings).map(([n, url]) => toolBody(n, url)),
      );
      assert.equal((await gw.call("v4")).isError, undefined, "loopback is allowed by default");
      const shown = expectStatus(await setOutbound(s, { allowLoopback: false }), 200).body;
      assert.deepEqual(shown.settings.outbound, {
        allowPrivateNetworks: true,
        allowLoopback: false,
        allowLinkLocal: false,
      });
      for (const name of Object.keys(spellings)) {
        const r = await gw.call(name);
        assert.equal(r.isError, true, name);
        assert.match(
          resultText(r),
          /loopback address \(this machine\).*"allowLoopback":true/,
          name,
        );
      }
      assert.equal(up.to("/x").length, 1, "only the call made before the change arrived");
      // The change applies to the next call: the policy cache follows the setting.
      expectStatus(await setOutbound(s, { allowLoopback: true }), 200);
      assert.equal((await gw.call("v4")).isError, undefined);
      assert.equal(up.to("/x").length, 2);
    });
  } finally {
    await up.close();
  }
});

Deno.test("a redirect from an allowed upstream to a blocked address is refused", async () => {
  const up = startUpstream({
    "/start": () =>
      new Response(null, {
        status: 302,
        headers: { location: "http://169.254.169.254/latest/meta-data/iam/" },
      }),
    "/hop": () => new Response(null, { status: 307, headers: { location: "/start" } }),
  });
  try {
    await withServer(async (s) => {
      const gw = await toolGateway(s, [
        toolBody("start", `${up.url}/start`, { retries: 2 }),
        toolBody("hop", `${up.url}/hop`),
      ]);
      await withFetchSpy(async (urls) => {
        for (const name of ["start", "hop"]) {
          const r = await gw.call(name);
          assert.equal(r.isError, true);
          assert.match(
            resultText(r),
            /^redirect from 127\.0\.0\.1:\d+ refused: refused to connect to 169\.254\.169\.254: it is a cloud-metadata address/,
          );
        }
        assert.ok(!urls.some((u) => u.includes("169.254")), urls.join(" "));
      });
      // Refused, so not retried even though the tool allows retries.
      assert.equal(up.to("/start").length, 2);
    });
  } finally {
    await up.close();
  }
});

Deno.test("OAuth2 token URLs obey the outbound policy too", async () => {
  await withServer(async (s) => {
    await addSecret(s, {
      name: "OAUTH",
      type: "oauth2_client_credentials",
      value: { tokenUrl: "https://169.254.169.254/token", clientId: "c", clientSecret: "s-1" },
    });
    const gw = await toolGateway(s, [
      toolBody("api", "https://api.example.com/x", { auth: { secret: "OAUTH" } }),
    ]);
    await withFetchSpy(async (urls) => {
      const r = await gw.call("api");
      assert.equal(r.isError, true);
      assert.match(
        resultText(r),
        /access token for secret 'OAUTH' from https:\/\/169\.254\.169\.254\/token: refused to connect/,
      );
      assert.deepEqual(urls.filter((u) => !u.startsWith(s.url)), []);
    });
  });
});

Deno.test("org settings: shown with defaults, changed by owners and admins only, validated", async () => {
  await withServer(async (s) => {
    const org = expectStatus(await s.api("GET", "/orgs/default"), 200).body;
    assert.deepEqual(org.settings, {
      outbound: { allowPrivateNetworks: true, allowLoopback: true, allowLinkLocal: false },
    });
    const member = await memberWithKey(s, "member");
    expectError(
      await member.call("PATCH", "/orgs/default", {
        settings: { outbound: { allowLinkLocal: true } },
      }),
      403,
    );
    const admin = await memberWithKey(s, "admin");
    const changed = expectStatus(
      await admin.call("PATCH", "/orgs/default", {
        settings: { outbound: { allowPrivateNetworks: false } },
      }),
      200,
    ).body;
    assert.equal(changed.role, "admin");
    const partial = expectStatus(await setOutbound(s, { allowLinkLocal: true }), 200).body;
    assert.deepEqual(partial.settings.outbound, {
      allowPrivateNetworks: false,
      allowLoopback: true,
      allowLinkLocal: true,
    });
    const bad: [unknown, string][] = [
      [{}, "settings"],
      [{ settings: { outbound: { allowLoopback: "yes" } } }, "settings.outbound.allowLoopback"],
      [{ settings: { outbound: { allowEverything: true } } }, "settings.outbound.allowEverything"],
      [{ settings: { inbound: {} } }, "settings.inbound"],
      [{ settings: { outbound: [] } }, "settings.outbound"],
      [{ name: "x", settings: {} }, "name"],
    ];
    for (const [body, field] of bad) {
      expectError(await s.api("PATCH", "/orgs/default", body), 400, field);
    }
    expectError(await s.api("PATCH", "/orgs/nope", { settings: {} }), 404);
    const listed = expectStatus(await s.api("GET", "/orgs"), 200).body.orgs[0];
    assert.equal(listed.settings.outbound.allowLinkLocal, true);
  });
});

Deno.test("an executor without a policy refuses metadata addresses by default", async () => {
  const exec = new HttpExecutor();
  try {
    const tool = httpTool({ method: "GET", url: "http://169.254.169.254/latest/meta-data/" });
    assert.match(
      errorText(await exec.execute(tool, {}, testContext())),
      /refused to connect to 169\.254\.169\.254/,
    );
  } finally {
    exec.close();
  }
});
