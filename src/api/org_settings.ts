/**
 * Parsing of `PATCH /orgs/{slug}` bodies: `{settings: {outbound: {...}}}`.
 * Only the settings given change; the others keep their stored value (or
 * their default when never set).
 *
 * @module
 */
import { OUTBOUND_SETTINGS } from "../tools/outbound_policy.ts";
import { invalid } from "./errors.ts";
import { type Body, onlyFields, optionalBoolean, optionalObject } from "./validate.ts";

/** The org's stored settings with the body's changes applied. */
export function patchOrgSettings(body: Body, current: Record<string, unknown>) {
  onlyFields(body, ["settings"]);
  const settings = optionalObject(body, "settings");
  if (!settings) throw invalid("settings", "settings is required");
  onlyFields(settings, ["outbound"], "settings.");
  const next: Record<string, unknown> = structuredClone(current);
  const outbound = optionalObject(settings, "outbound", "settings.outbound");
  if (outbound) {
    onlyFields(outbound, OUTBOUND_SETTINGS, "settings.outbound.");
    const stored = typeof next.outbound === "object" && next.outbound !== null
      ? next.outbound as Record<string, unknown>
      : {};
    for (const k of OUTBOUND_SETTINGS) {
      const v = optionalBoolean(outbound, k, `settings.outbound.${k}`);
      if (v !== undefined) stored[k] = v;
    }
    next.outbound = stored;
  }
  return next;
}
