/**
 * A hand-written SVG line chart (no dependency): stacked groups (one per variant), each with panels (throughput,
 * p99) sharing the time axis, one polyline per contender and a legend. Output is self-contained, well-formed XML
 * that browsers and GitHub render as an image.
 */
export interface ChartLine {
  name: string;
  points: Array<[number, number]>;
}

export interface ChartPanel {
  title: string;
  unit: string;
  lines: ChartLine[];
}

export interface ChartGroup {
  title: string;
  panels: ChartPanel[];
}

const WIDTH = 960;
const PANEL_HEIGHT = 200;
const GROUP_TITLE_HEIGHT = 50;
const PANEL_GAP = 34;
const MARGIN = { left: 70, right: 170, top: 40 };
const TICKS = 5;

/** Fixed colours, so a contender looks the same in every chart; others take the fallback palette in order. */
const knownColors: Record<string, string> = {
  boxoffice: '#d62728',
  'pg-conditional': '#1f77b4',
  'pg-for-update': '#2ca02c',
  'redis-lua': '#9467bd',
  hello: '#7f7f7f',
};
const fallbackColors = ['#ff7f0e', '#8c564b', '#e377c2', '#17becf', '#bcbd22'];

export function escapeXml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[c]!);
}

/** Axis tops that divide into TICKS readable steps. */
const niceSteps = [1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10];

/** The smallest nice step × 10^k at or above `value` (an axis top that reads well); 1 for empty data. */
export function niceCeiling(value: number): number {
  if (!(value > 0) || !Number.isFinite(value)) return 1;
  const magnitude = 10 ** Math.floor(Math.log10(value));
  for (const step of niceSteps) if (step * magnitude >= value * (1 - 1e-9)) return step * magnitude;
  return 10 * magnitude;
}

const fmtTick = (v: number) => (Math.abs(v) >= 1000 ? `${Math.round(v / 100) / 10}k` : String(Math.round(v * 100) / 100));

export function renderSvgChart(title: string, groups: ChartGroup[]): string {
  const plotWidth = WIDTH - MARGIN.left - MARGIN.right;
  const names = [...new Set(groups.flatMap((g) => g.panels.flatMap((p) => p.lines.map((l) => l.name))))];
  const color = new Map(names.map((n, i) => [n, knownColors[n] ?? fallbackColors[i % fallbackColors.length]!]));
  const out: string[] = [];
  let y = MARGIN.top;
  if (groups.length === 0) {
    // memory, or a scenario whose runs all failed to start: say so rather than draw empty axes.
    out.push(`<text x="${MARGIN.left}" y="${y + 18}" font-size="13">No time series in this scenario (see the Markdown and JSON results).</text>`);
    y += GROUP_TITLE_HEIGHT;
  }
  for (const group of groups) {
    out.push(`<text x="${MARGIN.left}" y="${y + 18}" font-size="15" font-weight="bold">${escapeXml(group.title)}</text>`);
    y += GROUP_TITLE_HEIGHT;
    const xMax = niceCeiling(Math.max(0, ...group.panels.flatMap((p) => p.lines.flatMap((l) => l.points.map(([t]) => t)))));
    for (const panel of group.panels) {
      out.push(renderPanel(panel, { x: MARGIN.left, y, width: plotWidth, height: PANEL_HEIGHT, xMax }, color));
      y += PANEL_HEIGHT + PANEL_GAP;
    }
  }
  const height = y + 10;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" font-family="sans-serif" font-size="11">`,
    `<rect x="0" y="0" width="${WIDTH}" height="${height}" fill="#ffffff"/>`,
    `<text x="${MARGIN.left}" y="24" font-size="17" font-weight="bold">${escapeXml(title)}</text>`,
    ...out,
    '</svg>',
    '',
  ].join('\n');
}

interface Box {
  x: number;
  y: number;
  width: number;
  height: number;
  xMax: number;
}

function renderPanel(panel: ChartPanel, box: Box, color: Map<string, string>): string {
  const yMax = niceCeiling(Math.max(0, ...panel.lines.flatMap((l) => l.points.map(([, v]) => v))));
  const sx = (t: number) => box.x + (t / box.xMax) * box.width;
  const sy = (v: number) => box.y + box.height - (v / yMax) * box.height;
  const parts: string[] = [
    `<g>`,
    `<text x="${box.x}" y="${box.y - 6}" font-size="12">${escapeXml(`${panel.title} (${panel.unit})`)}</text>`,
    `<rect x="${box.x}" y="${box.y}" width="${box.width}" height="${box.height}" fill="none" stroke="#999999"/>`,
  ];
  for (let i = 0; i <= TICKS; i++) {
    const v = (yMax / TICKS) * i;
    const ty = sy(v).toFixed(1);
    parts.push(`<line x1="${box.x}" y1="${ty}" x2="${box.x + box.width}" y2="${ty}" stroke="#eeeeee"/>`);
    parts.push(`<text x="${box.x - 6}" y="${ty}" text-anchor="end" dominant-baseline="middle">${fmtTick(v)}</text>`);
    const t = (box.xMax / TICKS) * i;
    parts.push(`<text x="${sx(t).toFixed(1)}" y="${box.y + box.height + 14}" text-anchor="middle">${fmtTick(t)} s</text>`);
  }
  panel.lines.forEach((line, i) => {
    const c = color.get(line.name) ?? '#000000';
    if (line.points.length > 0) {
      const pts = line.points.map(([t, v]) => `${sx(t).toFixed(1)},${sy(v).toFixed(1)}`).join(' ');
      parts.push(`<polyline fill="none" stroke="${c}" stroke-width="1.8" points="${pts}"/>`);
    }
    const ly = box.y + 14 + i * 16;
    parts.push(`<line x1="${box.x + box.width + 12}" y1="${ly}" x2="${box.x + box.width + 32}" y2="${ly}" stroke="${c}" stroke-width="3"/>`);
    parts.push(`<text x="${box.x + box.width + 38}" y="${ly}" dominant-baseline="middle">${escapeXml(line.name)}</text>`);
  });
  parts.push('</g>');
  return parts.join('\n');
}
