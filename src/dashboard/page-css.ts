/** The dashboard's style (GET /dashboard/app.css): system fonts only, nothing fetched from elsewhere. */
export const pageCss = `
:root { color-scheme: light dark; --fg: #1b1f24; --bg: #f6f7f9; --panel: #fff; --line: #d0d5dc; --accent: #2563eb; --warn: #b91c1c; }
@media (prefers-color-scheme: dark) { :root { --fg: #e6e8eb; --bg: #111418; --panel: #1a1e24; --line: #333a44; --accent: #60a5fa; --warn: #f87171; } }
* { box-sizing: border-box; }
[hidden] { display: none !important; }
body { margin: 0; font: 14px/1.4 system-ui, sans-serif; color: var(--fg); background: var(--bg); }
header { display: flex; gap: 1rem; align-items: center; padding: 0.5rem 1rem; border-bottom: 1px solid var(--line); background: var(--panel); }
header h1 { font-size: 1.1rem; margin: 0; }
#status { flex: 1; opacity: 0.8; }
main { display: grid; grid-template-columns: repeat(auto-fill, minmax(380px, 1fr)); gap: 0.75rem; padding: 0.75rem; }
.panel { background: var(--panel); border: 1px solid var(--line); border-radius: 6px; padding: 0.5rem 0.75rem; overflow-x: auto; min-width: 0; }
#login { max-width: 420px; margin: 3rem auto; }
.wide { grid-column: 1 / -1; }
h2 { font-size: 1rem; margin: 0.25rem 0 0.5rem; }
h2 small { font-weight: normal; opacity: 0.7; }
table { border-collapse: collapse; width: 100%; margin-bottom: 0.5rem; }
th, td { text-align: left; padding: 2px 6px; border-bottom: 1px solid var(--line); font-variant-numeric: tabular-nums; }
#partitions { display: block; max-height: 320px; overflow: auto; }
.chart { width: 100%; height: 120px; border: 1px solid var(--line); background: var(--bg); }
.chart polyline { fill: none; stroke: var(--accent); stroke-width: 2; vector-effect: non-scaling-stroke; }
.chart text { fill: var(--fg); font-size: 10px; opacity: 0.7; }
.error { color: var(--warn); }
.confirm { border: 1px solid var(--warn); padding: 0.5rem; margin: 0.5rem 0; border-radius: 4px; }
dl { display: grid; grid-template-columns: auto auto; gap: 2px 1rem; margin: 0; }
dt { opacity: 0.8; }
dd { margin: 0; font-variant-numeric: tabular-nums; }
form { display: flex; gap: 0.4rem; align-items: center; flex-wrap: wrap; margin-bottom: 0.5rem; }
input, select, button { font: inherit; padding: 2px 6px; }
.hint { opacity: 0.7; font-size: 0.9em; }
`;
