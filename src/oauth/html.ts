/**
 * The authorization servers' browser pages: plain server-rendered HTML that
 * works without JavaScript, every interpolated value escaped, and headers
 * that keep the pages out of frames (clickjacking) and out of caches.
 *
 * @module
 */

/** Escapes `value` for HTML text and double- or single-quoted attribute values. */
export function escapeHtml(value: unknown): string {
  return String(value).replace(
    /[&<>"']/g,
    (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!,
  );
}

/** A fragment of HTML that is already safe (built with {@link html}). */
export class SafeHtml {
  /** Wraps `text`, which must already be escaped. */
  constructor(readonly text: string) {}
  /** The markup. */
  toString(): string {
    return this.text;
  }
}

/**
 * Tagged template for markup: interpolated values are escaped unless they
 * are {@link SafeHtml} (or arrays of it), so escaping cannot be forgotten.
 */
export function html(strings: TemplateStringsArray, ...values: unknown[]): SafeHtml {
  let out = strings[0];
  values.forEach((v, i) => {
    const parts = Array.isArray(v) ? v : [v];
    for (const p of parts) {
      out += p instanceof SafeHtml ? p.text : p === undefined || p === null ? "" : escapeHtml(p);
    }
    out += strings[i + 1];
  });
  return new SafeHtml(out);
}

const STYLE = `
body{font:16px/1.5 system-ui,sans-serif;background:#f4f5f7;color:#1d2330;margin:0}
main{max-width:28rem;margin:3rem auto;background:#fff;padding:2rem;border-radius:8px;
box-shadow:0 1px 4px rgba(0,0,0,.12)}
h1{font-size:1.3rem;margin-top:0}label{display:block;margin:.8rem 0 .2rem;font-weight:600}
input[type=email],input[type=password]{width:100%;box-sizing:border-box;padding:.5rem;
font-size:1rem;border:1px solid #b7bcc6;border-radius:4px}
button{margin-top:1.2rem;padding:.55rem 1.2rem;font-size:1rem;border-radius:4px;border:0;
background:#2456d8;color:#fff;cursor:pointer}button.secondary{background:#e3e6eb;color:#1d2330}
.error{background:#fdecec;color:#8a1c1c;padding:.6rem .8rem;border-radius:4px}
.note{color:#5b6270;font-size:.9rem}code{word-break:break-all}ul{padding-left:1.2rem}
`;

/** Extra `form-action` sources a page may submit (or be redirected) to, e.g. the client's origin. */
export interface PageOptions {
  status?: number;
  formTargets?: string[];
  headers?: Record<string, string>;
}

/**
 * A complete page response. `form-action` allows the page's own origin plus
 * `formTargets`: browsers apply it to the redirect that follows a form post
 * too, so the consent page must name the client's redirect origin.
 */
export function pageResponse(title: string, body: SafeHtml, opts: PageOptions = {}): Response {
  const doc = html`
    <!doctype html>
    <html lang="en">
      <head>
        <meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <meta name="referrer" content="no-referrer">
        <title>${title}</title>
        <style>${new SafeHtml(STYLE)}</style>
      </head>
      <body>
        <main>${body}</main>
      </body>
    </html>
  `;
  const formAction = ["'self'", ...(opts.formTargets ?? [])].join(" ");
  return new Response(doc.text, {
    status: opts.status ?? 200,
    headers: {
      "content-type": "text/html; charset=utf-8",
      "cache-control": "no-store",
      pragma: "no-cache",
      "x-frame-options": "DENY",
      "x-content-type-options": "nosniff",
      "referrer-policy": "no-referrer",
      "content-security-policy": `default-src 'none'; style-src 'unsafe-inline'; ` +
        `form-action ${formAction}; frame-ancestors 'none'; base-uri 'none'`,
      ...opts.headers,
    },
  });
}

/** An error page: for failures that must not (or cannot) be sent back to the client. */
export function errorPage(status: number, title: string, message: string, headers = {}): Response {
  return pageResponse(
    title,
    html`
      <h1>${title}</h1>
      <p class="error">${message}</p>
      <p class="note">Return to the application you came from and try again.</p>
    `,
    { status, headers },
  );
}
