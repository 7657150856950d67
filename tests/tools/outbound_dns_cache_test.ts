/**
 * The outbound guard reuses a name's checked addresses for a short while,
 * so tool calls to a named host do not wait on DNS every time, and looks the
 * name up again once that while is over.
 */
import assert from "node:assert/strict";
import { type DnsLookup, OutboundGuard } from "../../src/tools/outbound_policy.ts";

const POLICY = { allowPrivateNetworks: true, allowLoopback: true, allowLinkLocal: false };

function countingDns(answers: Record<string, string[]>) {
  const asked: string[] = [];
  const lookup: DnsLookup = (host, type) => {
    asked.push(`${host} ${type}`);
    const found = (answers[host] ?? []).filter((ip) => ip.includes(":") === (type === "AAAA"));
    return found.length ? Promise.resolve(found) : Promise.reject(new Error("NXDOMAIN"));
  };
  return { lookup, asked, answers };
}

Deno.test("a name's addresses are looked up once per cache period, and checked again after it", async () => {
  const dns = countingDns({ "api.test": ["93.184.216.34"] });
  const guard = new OutboundGuard({
    lookup: dns.lookup,
    hostsFile: "/nonexistent",
    dnsCacheMs: 80,
  });
  const signal = new AbortController().signal;
  try {
    for (let i = 0; i < 5; i++) {
      const d = await guard.check(new URL("https://api.test/users"), POLICY, signal);
      assert.equal(d.ok, true);
    }
    assert.deepEqual(dns.asked, ["api.test A", "api.test AAAA"], "one lookup for five calls");

    // After the period the name is resolved again, and a new address is judged afresh.
    dns.answers["api.test"] = ["169.254.169.254"];
    await new Promise((r) => setTimeout(r, 100));
    const d = await guard.check(new URL("https://api.test/users"), POLICY, signal);
    assert.equal(d.ok, false, "the re-resolved metadata address is refused");
    assert.equal(dns.asked.length, 4);
  } finally {
    guard.close();
  }
});

Deno.test("a failed lookup is not remembered", async () => {
  const dns = countingDns({});
  const guard = new OutboundGuard({ lookup: dns.lookup, hostsFile: "/nonexistent" });
  const signal = new AbortController().signal;
  try {
    assert.equal((await guard.check(new URL("https://late.test/"), POLICY, signal)).ok, false);
    dns.answers["late.test"] = ["93.184.216.34"];
    assert.equal((await guard.check(new URL("https://late.test/"), POLICY, signal)).ok, true);
  } finally {
    guard.close();
  }
});
