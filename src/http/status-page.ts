/**
 * GET /: one self-contained HTML page (inline CSS and JS, no external assets,
 * works offline) showing the node's /health live: identity, peers, streams and
 * buckets with status and lag, blob transfers with progress bars, replication
 * logs, recent errors. The first state is served with the page; later ones
 * come from GET /events (see health-events.ts).
 *
 * Served with a Content-Security-Policy that allows exactly the inline script
 * and style (by hash) and requests to this origin, so even a hostile string
 * from a peer that slipped into the page could not run code.
 */
import { createHash } from 'node:crypto'
import type { ServerResponse } from 'node:http'
import { STATUS_PAGE_SCRIPT } from './status-page-script.js'
import { STATUS_PAGE_STYLE } from './status-page-style.js'

const sha256 = (s: string): string => `'sha256-${createHash('sha256').update(s).digest('base64')}'`

const section = (id: string, title: string): string =>
  `<section id="${id}"><h2>${title} <span class="count"></span></h2><div class="body"><p class="empty">Loading…</p></div></section>`

/** Where the /health snapshot of the moment the page is served goes (see statusPageBody). */
const INITIAL_SLOT = '<!--initial-state-->'

/** The page; its script and style are inserted verbatim so their hashes match the CSP. */
export const STATUS_PAGE_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<title>rhio</title>
<link rel="icon" href="data:,">
<style>${STATUS_PAGE_STYLE}</style>
</head>
<body>
<header>
<div class="title"><h1>rhio</h1><span id="status" class="pill badge muted">…</span><span id="live" class="live">connecting…</span></div>
<dl class="facts">
<div><dt>node (public key)</dt><dd id="node-id" class="mono">…</dd></div>
<div><dt>network</dt><dd id="network">…</dd></div>
<div><dt>NATS</dt><dd id="nats">…</dd></div>
<div><dt>version</dt><dd id="version">…</dd></div>
<div><dt>up for</dt><dd id="uptime">…</dd></div>
</dl>
<ul id="problems" class="problems" hidden></ul>
</header>
<main>
${section('traffic', 'Traffic')}
${section('peers', 'Peers')}
${section('reachability', 'Reachability')}
${section('streams', 'Streams')}
${section('buckets', 'Buckets')}
${section('transfers', 'Blob transfers')}
${section('serving', 'Serving to peers')}
${section('sync', 'Replication logs')}
${section('errors', 'Recent errors')}
${section('config', 'Ignored config keys')}
</main>
<footer>Raw data: <a href="health">/health</a> · <a href="metrics">/metrics</a> · <span id="updated">not updated yet</span></footer>
${INITIAL_SLOT}
<script>${STATUS_PAGE_SCRIPT}</script>
</body>
</html>
`

export const STATUS_PAGE_CSP = [
  "default-src 'none'",
  `script-src ${sha256(STATUS_PAGE_SCRIPT)}`,
  `style-src ${sha256(STATUS_PAGE_STYLE)}`,
  "connect-src 'self'",
  'img-src data:',
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ')

/**
 * The page with `initial` (the /health body) in a JSON data block, so it
 * renders the node's state as it arrives instead of "Loading…" until the
 * first event. A data block is not run (the CSP needs no hash for it); `<`
 * is escaped so no string from a peer can end the element.
 */
export function statusPageBody(initial: unknown): Buffer {
  const json = JSON.stringify(initial ?? null).replace(/</g, '\\u003c')
  const block = `<script type="application/json" id="initial-state">${json}</script>`
  return Buffer.from(
    STATUS_PAGE_HTML.replace(INITIAL_SLOT, () => block),
    'utf8',
  )
}

/** The GET / handler. */
export function serveStatusPage(res: ServerResponse, initial?: unknown): void {
  const body = statusPageBody(initial)
  res.writeHead(200, {
    'content-type': 'text/html; charset=utf-8',
    'content-length': body.length,
    'cache-control': 'no-store',
    'content-security-policy': STATUS_PAGE_CSP,
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'no-referrer',
  })
  res.end(body)
}
