/**
 * Members and roles: the organization's members (every role reads them);
 * for owners and admins, role changes, removal, invitations (the one-time
 * token shown once, to hand to the person) and their withdrawal.
 *
 * @module
 */
import { type Context, Hono } from "hono";
import type { ApiResult, Json } from "./client.ts";
import {
  CopyBlock,
  Csrf,
  Empty,
  errorOf,
  ErrorSummary,
  Field,
  type FormState,
  PostButton,
  Select,
  Table,
  valueOf,
  When,
} from "./components.tsx";
import type { UiDeps, UiEnv, UiRequest } from "./context.ts";
import { done, statusOf, text, valuesOf } from "./forms.ts";
import { Page } from "./layout.tsx";

const ROLES = ["owner", "admin", "member", "viewer"];

async function view(
  ui: UiRequest,
  state?: FormState,
  invited?: { email: string; token: string },
) {
  const slug = ui.me.organization.slug;
  const [members, invitations] = await Promise.all([
    ui.api.get(`/orgs/${slug}/members`),
    ui.isAdmin ? ui.api.get(`/orgs/${slug}/invitations`) : Promise.resolve(undefined),
  ]);
  const list: Json[] = members.ok ? members.body.members : [];
  const pending: Json[] = invitations?.ok ? invitations.body.invitations : [];
  const v = (name: string, fallback = "") => valueOf(state, "invite", name, fallback);
  const e = (name: string) => errorOf(state, "invite", name);
  return (
    <Page ui={ui} title="Members and roles" section="/ui/members">
      <p class="muted">
        Viewers read; members also change gateways, tools, secrets and servers; admins also manage
        members, read the audit trail and the request log; owners also manage owners.
      </p>
      {invited
        ? (
          <section class="panel secret-once" aria-labelledby="invited">
            <h2 id="invited">{`${invited.email} is invited`}</h2>
            <p>
              Hand this one-time token to them: it is shown only now. They accept it with{" "}
              <code>POST /invitations/accept</code>, choosing their own password.
            </p>
            <CopyBlock id="invitation-token" text={invited.token} label="the invitation token" />
          </section>
        )
        : null}
      {state?.form === "member" ? <ErrorSummary state={state} form="member" fields={[]} /> : null}
      <Table head={["Member", "Role", "Joined", ""]} caption="Members">
        {list.map((m) => (
          <tr>
            <td>
              {m.name} <span class="muted">{m.email}</span>
              {m.userId === ui.me.user.id ? " (you)" : ""}
            </td>
            <td>
              {ui.isAdmin && m.userId !== ui.me.user.id
                ? (
                  <form method="post" action={`/ui/members/${m.userId}`} class="inline">
                    <Csrf token={ui.csrf} />
                    <label class="sr" for={`role-${m.userId}`}>{`Role of ${m.email}`}</label>
                    <select id={`role-${m.userId}`} name="role">
                      {ROLES.map((r) => <option value={r} selected={r === m.role}>{r}</option>)}
                    </select>
                    <button type="submit" class="secondary small">Change</button>
                  </form>
                )
                : m.role}
            </td>
            <td>
              <When at={m.createdAt} />
            </td>
            <td>
              {ui.isAdmin && m.userId !== ui.me.user.id
                ? (
                  <PostButton
                    action={`/ui/members/${m.userId}/remove`}
                    csrf={ui.csrf}
                    label="Remove"
                    danger
                    confirm={`Remove ${m.email} from the organization? Their access keys here stop working.`}
                  />
                )
                : null}
            </td>
          </tr>
        ))}
      </Table>
      {ui.isAdmin
        ? (
          <>
            <section class="panel" aria-labelledby="invitations">
              <h2 id="invitations">Invitations</h2>
              {pending.length === 0
                ? <Empty>No pending invitations.</Empty>
                : (
                  <Table head={["Email", "Role", "State", "Expires", ""]} caption="Invitations">
                    {pending.map((i) => (
                      <tr>
                        <td>{i.email}</td>
                        <td>{i.role}</td>
                        <td>{i.status}</td>
                        <td>
                          <When at={i.expiresAt} />
                        </td>
                        <td>
                          <PostButton
                            action={`/ui/members/invitations/${i.id}/withdraw`}
                            csrf={ui.csrf}
                            label="Withdraw"
                          />
                        </td>
                      </tr>
                    ))}
                  </Table>
                )}
              <h3>Invite someone</h3>
              <form method="post" action="/ui/members/invite" class="stack">
                <Csrf token={ui.csrf} />
                <ErrorSummary state={state} form="invite" fields={["email", "role", "expiresAt"]} />
                <Field
                  label="Email"
                  name="email"
                  type="email"
                  value={v("email")}
                  error={e("email")}
                  required
                />
                <Select
                  label="Role"
                  name="role"
                  value={v("role", "member")}
                  options={ROLES}
                  error={e("role")}
                />
                <button type="submit">Invite</button>
              </form>
            </section>
          </>
        )
        : null}
    </Page>
  );
}

/** The member routes. */
export function memberRoutes(deps: UiDeps): Hono<UiEnv> {
  const app = new Hono<UiEnv>();
  const slugOf = (c: Context<UiEnv>) => c.get("ui").me.organization.slug;
  const again = async (c: Context<UiEnv>, form: string, res: ApiResult) =>
    c.html(
      await view(c.get("ui"), { form, values: valuesOf(c.get("form")), error: res.error }),
      statusOf(res),
    );

  app.get("/", async (c) => c.html(await view(c.get("ui"))));

  app.post("/invite", async (c) => {
    const f = c.get("form");
    const res = await c.get("ui").api.call("POST", `/orgs/${slugOf(c)}/members`, {
      email: text(f, "email"),
      role: text(f, "role"),
    });
    if (!res.ok) return again(c, "invite", res);
    c.header("cache-control", "no-store");
    return c.html(
      await view(c.get("ui"), undefined, { email: res.body.email, token: res.body.token }),
    );
  });

  app.post("/invitations/:id/withdraw", async (c) => {
    const res = await c.get("ui").api.call(
      "DELETE",
      `/orgs/${slugOf(c)}/invitations/${c.req.param("id")}`,
    );
    return res.ok ? done(c, deps, "Invitation withdrawn.", "/ui/members") : again(c, "member", res);
  });

  app.post("/:userId", async (c) => {
    const res = await c.get("ui").api.call(
      "PATCH",
      `/orgs/${slugOf(c)}/members/${c.req.param("userId")}`,
      { role: text(c.get("form"), "role") },
    );
    return res.ok
      ? done(c, deps, `${res.body.email} is now ${res.body.role}.`, "/ui/members")
      : again(c, "member", res);
  });

  app.post("/:userId/remove", async (c) => {
    const res = await c.get("ui").api.call(
      "DELETE",
      `/orgs/${slugOf(c)}/members/${c.req.param("userId")}`,
    );
    return res.ok ? done(c, deps, "Member removed.", "/ui/members") : again(c, "member", res);
  });

  return app;
}
