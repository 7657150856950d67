/**
 * The audit trail (`GET /audit`, owners and admins): who changed what and
 * when, newest first, with the API's filters and paging.
 *
 * @module
 */
import { Hono } from "hono";
import type { Json } from "./client.ts";
import { withQuery } from "./client.ts";
import { Empty, Field, Pager, Select, Table, When } from "./components.tsx";
import type { UiDeps, UiEnv, UiRequest } from "./context.ts";
import { utcTime } from "./forms.ts";
import { Page } from "./layout.tsx";

const TARGETS = [
  "org",
  "user",
  "invitation",
  "access_key",
  "gateway",
  "tool",
  "api",
  "secret",
  "server",
];

async function view(ui: UiRequest, q: Record<string, string | undefined>) {
  const filters = {
    action: q.action,
    targetType: q.targetType,
    actor: q.actor,
    targetId: q.targetId,
    since: utcTime(q.since),
    until: utcTime(q.until),
  };
  const res = ui.isAdmin
    ? await ui.api.get(withQuery("/audit", { ...filters, limit: "50", cursor: q.cursor }))
    : undefined;
  const events: Json[] = res?.ok ? res.body.events : [];
  const error = res && !res.ok ? res.error : undefined;
  const fieldError = (name: string) => error?.field === name ? error.message : undefined;
  const next = res?.ok && res.body.nextCursor
    ? withQuery("/ui/audit", { ...q, cursor: res.body.nextCursor })
    : null;
  return (
    <Page ui={ui} title="Audit trail" section="/ui/audit">
      {!ui.isAdmin
        ? <p class="notice warn">The audit trail is for owners and admins of the organization.</p>
        : (
          <>
            <form method="get" action="/ui/audit" class="inline" role="search">
              <Field
                label="Action"
                name="action"
                value={q.action ?? ""}
                placeholder="gateway."
                error={fieldError("action")}
              />
              <Select
                label="About"
                name="targetType"
                value={q.targetType ?? ""}
                options={[["", "(anything)"], ...TARGETS]}
                error={fieldError("targetType")}
              />
              <Field
                label="Actor id"
                name="actor"
                value={q.actor ?? ""}
                error={fieldError("actor")}
              />
              <Field
                label="From (UTC)"
                name="since"
                type="datetime-local"
                value={filters.since?.slice(0, 16) ?? ""}
                error={fieldError("since")}
              />
              <Field
                label="Until (UTC)"
                name="until"
                type="datetime-local"
                value={filters.until?.slice(0, 16) ?? ""}
                error={fieldError("until")}
              />
              <button type="submit">Filter</button>
              <a href="/ui/audit">Clear</a>
            </form>
            {error && !error.field ? <p class="notice bad">{error.message}</p> : null}
            {events.length === 0
              ? <Empty>No events match.</Empty>
              : (
                <Table head={["When", "Who", "Action", "About", "Changes"]} caption="Events">
                  {events.map((e) => (
                    <tr>
                      <td>
                        <When at={e.at} />
                      </td>
                      <td>
                        {e.actor.name}
                        <br />
                        <span class="muted">{e.actor.type}</span>
                      </td>
                      <td>
                        <code>{e.action}</code>
                      </td>
                      <td>{`${e.target.type} ${e.target.name ?? e.target.id ?? ""}`}</td>
                      <td>
                        {e.changes && Object.keys(e.changes).length > 0
                          ? (
                            <details>
                              <summary>{Object.keys(e.changes).slice(0, 3).join(", ")}</summary>
                              <pre>{JSON.stringify(e.changes, null, 2)}</pre>
                            </details>
                          )
                          : ""}
                      </td>
                    </tr>
                  ))}
                </Table>
              )}
            <Pager next={next} />
          </>
        )}
    </Page>
  );
}

/** The audit route. */
export function auditRoutes(_deps: UiDeps): Hono<UiEnv> {
  const app = new Hono<UiEnv>();
  app.get("/", async (c) => c.html(await view(c.get("ui"), c.req.query())));
  return app;
}
