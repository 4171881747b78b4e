import { html, SafeHtml } from './html.js';

// Inline, because the CSP allows no stylesheet requests (`style-src 'unsafe-inline'` only).
// One column from 390 px up: the header and nav wrap, long words break, and a wide table scrolls
// inside its own box; below 40rem a table becomes one block per row, labelled from `data-label`.
const STYLE = `
:root{--ink:#1d2433;--muted:#5b6475;--line:#e3e7ef;--brand:#0b5cad;--brand-dark:#084a8c;--bg:#f5f7fb;--danger:#b42318;--ok:#067647}
*{box-sizing:border-box}
body{margin:0;font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--ink);background:var(--bg);overflow-wrap:break-word}
header{display:flex;flex-wrap:wrap;align-items:center;justify-content:space-between;gap:.5rem 1rem;padding:.75rem 1.5rem;background:#fff;border-bottom:1px solid var(--line)}
.brand{font-weight:700;color:var(--ink);text-decoration:none}.brand span{font-weight:400;color:var(--muted)}
nav{display:flex;flex-wrap:wrap;align-items:center;gap:.25rem 1rem;min-width:0}nav a{color:var(--brand);text-decoration:none}
nav .who{color:var(--muted);font-size:.9rem;min-width:0}
main{max-width:80rem;margin:2rem auto;padding:0 1.5rem}
.card{background:#fff;border:1px solid var(--line);border-radius:10px;padding:1.5rem;margin-bottom:1.5rem}
.narrow{max-width:30rem;margin:3rem auto}
h1{font-size:1.5rem;margin:0 0 .75rem}h2{font-size:1.1rem;margin:0 0 .75rem}
p{margin:.5rem 0}.muted{color:var(--muted)}
.button,button{display:inline-block;font:inherit;border:0;border-radius:6px;padding:.55rem 1.1rem;cursor:pointer;text-decoration:none}
.button.zoho{background:var(--brand);color:#fff;font-weight:600;padding:.7rem 1.4rem}.button.zoho:hover{background:var(--brand-dark)}
button.quiet{background:none;color:var(--brand);padding:0}
button.danger{background:#fee4e2;color:var(--danger);padding:.3rem .7rem}
button.plain{background:#eef1f6;color:var(--ink);padding:.3rem .7rem}
form.inline{display:inline;margin:0}
.notice{border-left:4px solid var(--brand);background:#eaf2fb;padding:.6rem .9rem;border-radius:4px;margin:.75rem 0}
.notice.warn{border-color:var(--danger);background:#fef3f2}
table{width:100%;border-collapse:collapse;font-size:.86rem}
th,td{text-align:left;padding:.45rem .45rem;border-bottom:1px solid var(--line);vertical-align:top}
th{color:var(--muted);font-weight:600;font-size:.8rem;text-transform:uppercase;letter-spacing:.03em}
time span,td code,td.actions{white-space:nowrap}.scroll{overflow-x:auto}
code{font-family:ui-monospace,SFMono-Regular,Menlo,monospace;font-size:.85em}
.pill{display:inline-block;border-radius:999px;padding:.05rem .55rem;font-size:.8rem;background:#eef1f6}
footer{max-width:80rem;margin:0 auto 2rem;padding:0 1.5rem;color:var(--muted);font-size:.85rem}
@media (max-width:40rem){
header{padding:.6rem 1rem}main{margin:1rem auto;padding:0 .75rem}footer{padding:0 1rem}
.card{padding:1rem}.narrow{margin:1rem auto}
.stack thead{position:absolute;width:1px;height:1px;overflow:hidden;clip-path:inset(50%)}
.stack table,.stack tbody,.stack tr,.stack td{display:block}
.stack tr{padding:.6rem 0;border-bottom:1px solid var(--line)}
.stack td{border:0;padding:.05rem 0}#leads td:first-child{font-weight:600;font-size:.95rem}
.stack td[data-label]{display:grid;grid-template-columns:7.5rem minmax(0,1fr);gap:.75rem}
.stack td[data-label]::before{content:attr(data-label);color:var(--muted);font-size:.8rem}
.stack td code{white-space:normal;overflow-wrap:anywhere}.stack td.actions{padding-top:.4rem}
}
`;

// Our own constant: markup as it stands.
const STYLE_MARKUP = new SafeHtml(STYLE);

/** Who is looking at a page, for the navigation bar. */
export interface Viewer {
  email: string;
  csrfToken: string;
  isAdmin: boolean;
}

/** What every page shows besides its content. */
export interface LayoutOptions {
  title: string;
  /** The signed-in user; null on the sign-in and public error pages. */
  viewer: Viewer | null;
  /** The footer: which Zoho the portal runs on (and, for admins, which store). */
  footer: string;
}

/**
 * The page frame: head, navigation with sign-out for a signed-in user, and the footer.
 *
 * @example
 * ```ts
 * layout({ title: 'Dashboard', viewer, footer: 'Zoho emulator · sqlite' }, html`<h1>Hi</h1>`);
 * ```
 */
export function layout(options: LayoutOptions, content: SafeHtml): SafeHtml {
  const { viewer } = options;
  const nav = viewer
    ? html`<nav>
        <a href="/dashboard">Dashboard</a>
        ${viewer.isAdmin && html`<a href="/admin">Admin</a>`}
        <span class="who">${viewer.email}</span>
        <form class="inline" method="post" action="/logout">
          <input type="hidden" name="csrf" value="${viewer.csrfToken}">
          <button class="quiet" type="submit">Sign out</button>
        </form>
      </nav>`
    : null;
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${options.title} · Zylker Academy</title>
<style>${STYLE_MARKUP}</style>
</head>
<body>
<header><a class="brand" href="/">Zylker Academy <span>student portal</span></a>${nav}</header>
<main>${content}</main>
<footer>${options.footer}</footer>
</body>
</html>`;
}
