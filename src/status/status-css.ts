/**
 * The status page's stylesheet (served as /status.css, written as status.css). Dark text on light
 * backgrounds; every text/background pair is at least 4.5:1 (body #1a1a1a on #ffffff 17:1, muted
 * #4a4a4a 8.9:1, links #0b57a4 7:1, badges ≥ 6.5:1). Visible focus outlines; no colour-only meaning.
 */
export const STATUS_CSS = `:root {
  color-scheme: light;
  --text: #1a1a1a;
  --muted: #4a4a4a;
  --bg: #ffffff;
  --panel: #f6f7f9;
  --line: #c8ccd2;
  --link: #0b57a4;
  --ok-text: #1b5e20;
  --ok-bg: #e6f4ea;
  --bad-text: #8c1d18;
  --bad-bg: #fce8e6;
  --warn-text: #5b3a00;
  --warn-bg: #fff4e0;
}
* { box-sizing: border-box; }
html { background: var(--bg); color: var(--text); }
body {
  margin: 0 auto;
  max-width: 72rem;
  padding: 1rem 1.5rem 3rem;
  font: 16px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
}
a { color: var(--link); }
a:focus-visible, summary:focus-visible { outline: 3px solid var(--link); outline-offset: 2px; }
code { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 0.9em; overflow-wrap: anywhere; }
h1 { font-size: 1.75rem; margin: 0.5rem 0 0.25rem; }
h2 { font-size: 1.3rem; margin: 2rem 0 0.75rem; padding-bottom: 0.25rem; border-bottom: 2px solid var(--line); }
h3 { font-size: 1.05rem; margin: 1.25rem 0 0.5rem; }
.skip { position: absolute; left: -999px; }
.skip:focus { left: 1rem; top: 1rem; background: var(--bg); padding: 0.5rem; }
.location { margin: 0; color: var(--muted); }
.muted { color: var(--muted); }
.empty { color: var(--muted); font-style: italic; }
.health { margin: 1rem 0 0; padding: 0.75rem 1rem; border-radius: 6px; border-left: 6px solid; }
.health-ok { background: var(--ok-bg); color: var(--ok-text); }
.health-warning { background: var(--warn-bg); color: var(--warn-text); }
.health-critical { background: var(--bad-bg); color: var(--bad-text); }
.facts { display: grid; grid-template-columns: repeat(auto-fit, minmax(14rem, 1fr)); gap: 0.75rem; margin: 0; }
.facts div { background: var(--panel); border: 1px solid var(--line); border-radius: 6px; padding: 0.6rem 0.8rem; }
.facts dt { font-weight: 600; color: var(--muted); font-size: 0.9rem; }
.facts dd { margin: 0.2rem 0 0; }
.scroll { overflow-x: auto; }
table.data { border-collapse: collapse; width: 100%; margin: 0.5rem 0 1rem; font-variant-numeric: tabular-nums; }
table.data caption { text-align: left; font-weight: 600; padding: 0.25rem 0; color: var(--text); }
table.data th, table.data td { border-bottom: 1px solid var(--line); padding: 0.35rem 0.6rem; text-align: left; vertical-align: top; }
table.data thead th { background: var(--panel); border-bottom: 2px solid var(--line); }
table.data tfoot th, table.data tfoot td { font-weight: 600; border-top: 2px solid var(--line); }
.num { text-align: right !important; white-space: nowrap; }
.row-failed { background: var(--bad-bg); }
.row-rollback { background: var(--warn-bg); }
.badge { display: inline-block; padding: 0 0.45rem; border-radius: 999px; font-size: 0.85rem; font-weight: 600; border: 1px solid currentColor; }
.badge-ok { background: var(--ok-bg); color: var(--ok-text); }
.badge-failed { background: var(--bad-bg); color: var(--bad-text); }
.badge-neutral { background: var(--panel); color: var(--text); }
.badge-rollback { background: var(--warn-bg); color: var(--warn-text); }
.chart-figure { margin: 0.5rem 0 1rem; }
.chart-figure figcaption { color: var(--muted); font-size: 0.9rem; }
svg.chart { display: block; width: 100%; max-width: 60rem; height: auto; background: var(--bg); }
.legend { white-space: nowrap; margin-left: 0.5rem; }
.swatch { display: inline-block; width: 0.9rem; height: 0.9rem; vertical-align: -0.1rem; border: 1px solid var(--text); }
.swatch-ok { background: #1f5fa8; }
.swatch-failed { background: repeating-linear-gradient(45deg, #a4262c 0 3px, #ffffff 3px 5px); }
.run-errors { background: var(--bad-bg); color: var(--bad-text); border-radius: 6px; padding: 0.25rem 1rem 0.5rem; margin: 0.75rem 0; }
.run-errors h3 { color: var(--bad-text); }
.run-errors ul, .deploy-errors { margin: 0.25rem 0; padding-left: 1.25rem; }
.run-errors li { overflow-wrap: anywhere; }
.run-errors .muted { color: var(--bad-text); }
.deploy-errors { font-size: 0.9rem; color: var(--bad-text); }
details summary { cursor: pointer; color: var(--link); }
.page-footer { margin-top: 3rem; border-top: 1px solid var(--line); color: var(--muted); font-size: 0.9rem; }
@media print { .skip { display: none; } details { display: block; } }
`;
