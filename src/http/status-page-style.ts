/**
 * The status page's stylesheet (inline, so the page works offline). Tables
 * turn into stacked cards on narrow screens (phones), labelled from each
 * cell's `data-label`. Light and dark follow the system setting.
 */
export const STATUS_PAGE_STYLE = `
:root {
  --bg: #f6f7f9; --fg: #1d2330; --muted: #5e6778; --card: #fff; --line: #dde1e8;
  --ok: #1a7f37; --warn: #9a6700; --bad: #cf222e; --info: #0969da; --mono: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace;
}
@media (prefers-color-scheme: dark) {
  :root { --bg: #0f1217; --fg: #e6e9ef; --muted: #9aa3b2; --card: #171b22; --line: #2a303b;
    --ok: #3fb950; --warn: #d29922; --bad: #f85149; --info: #58a6ff; }
}
* { box-sizing: border-box; }
html { -webkit-text-size-adjust: 100%; }
body { margin: 0; background: var(--bg); color: var(--fg);
  font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; }
header, main, footer { max-width: 1200px; margin: 0 auto; padding: 12px 16px; }
h1 { font-size: 1.4rem; margin: 0; }
h2 { font-size: 1.05rem; margin: 0 0 8px; display: flex; gap: 8px; align-items: baseline; }
h2 .count { color: var(--muted); font-weight: normal; font-size: .9rem; }
.title { display: flex; flex-wrap: wrap; gap: 10px; align-items: center; }
.facts { display: grid; grid-template-columns: repeat(auto-fit, minmax(220px, 1fr)); gap: 4px 16px; margin: 10px 0 0; }
.facts div { min-width: 0; }
.facts dt { color: var(--muted); font-size: .8rem; }
.facts dd { margin: 0; overflow-wrap: anywhere; }
.mono, code { font-family: var(--mono); font-size: .88em; }
.problems { margin: 10px 0 0; padding: 8px 12px 8px 28px; border-left: 4px solid var(--bad);
  background: var(--card); border-radius: 6px; color: var(--bad); }
section { background: var(--card); border: 1px solid var(--line); border-radius: 8px; padding: 12px; margin: 0 0 12px; }
.empty { color: var(--muted); margin: 0; }
.scroll { overflow-x: auto; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: 5px 8px; border-bottom: 1px solid var(--line); vertical-align: top; }
/* long multiaddrs, keys and errors wrap anywhere instead of widening the table past the screen */
td { overflow-wrap: anywhere; }
th { color: var(--muted); font-weight: 600; font-size: .8rem; white-space: nowrap; }
tr:last-child td { border-bottom: none; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
td.err { color: var(--bad); overflow-wrap: anywhere; }
.sub { display: block; color: var(--muted); font-size: .8rem; }
.pill { display: inline-block; padding: 1px 8px; border-radius: 999px; font-size: .8rem; font-weight: 600;
  border: 1px solid currentColor; white-space: nowrap; }
.ok { color: var(--ok); } .warn { color: var(--warn); } .bad { color: var(--bad); } .info { color: var(--info); }
.muted { color: var(--muted); }
.badge { font-size: .85rem; }
.live { font-size: .8rem; color: var(--muted); }
.live::before { content: "\\25CF"; margin-right: 4px; }
.live.on::before { color: var(--ok); } .live.off::before { color: var(--bad); }
.dot::before { content: "\\25CF"; margin-right: 4px; }
progress { width: 100%; min-width: 120px; height: 14px; accent-color: var(--info); }
.progress { min-width: 160px; }
ul.addrs { margin: 0; padding: 0; list-style: none; }
.charts { display: grid; grid-template-columns: repeat(auto-fit, minmax(240px, 1fr)); gap: 8px 16px; }
.chart svg { width: 100%; height: 60px; border-bottom: 1px solid var(--line); }
.chart polyline { fill: none; stroke-width: 1.5; vector-effect: non-scaling-stroke; }
.chart polyline.in, .chart .in { stroke: var(--info); color: var(--info); }
.chart polyline.out, .chart .out { stroke: var(--ok); color: var(--ok); }
.chart-title { font-weight: 600; font-size: .9rem; }
footer { color: var(--muted); font-size: .85rem; }
footer a { color: var(--info); }
@media (max-width: 700px) {
  header, main, footer { padding: 10px; }
  .scroll { overflow-x: visible; }
  table, thead, tbody, tr, td { display: block; width: 100%; }
  thead { display: none; }
  tr { border-bottom: 1px solid var(--line); padding: 6px 0; }
  tr:last-child { border-bottom: none; }
  td { border: none; padding: 2px 0; display: grid; grid-template-columns: 34% 1fr; gap: 8px; text-align: left;
    justify-items: start; }
  td.progress { justify-items: stretch; }
  td.num { text-align: left; }
  td::before { content: attr(data-label); color: var(--muted); font-size: .8rem; }
  progress, .progress { min-width: 0; }
}
`
