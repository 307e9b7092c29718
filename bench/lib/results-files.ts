import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { chartGroups } from './chart-data.js';
import { renderMarkdown } from './markdown.js';
import type { ResultHeader } from './result-header.js';
import type { ScenarioResult } from './run-record.js';
import { renderSvgChart } from './svg-chart.js';

/** Writes bench/results/<date>-<scenario>.json, .md and .svg; returns their paths. */
export async function writeResultFiles(dir: string, header: ResultHeader, result: ScenarioResult): Promise<string[]> {
  await mkdir(dir, { recursive: true });
  const base = join(dir, `${header.date}-${result.scenario}`);
  const ratiosNote = 'ratios are boxoffice ÷ contender, measured in the same run';
  const json = { ...header, scenario: result.scenario, description: result.description, settings: result.settings, contenders: [...new Set(result.runs.map((r) => r.contender))], ratiosNote, ratios: result.ratios, ...(result.tables ? { tables: result.tables } : {}), notes: result.notes, runs: result.runs };
  const files: Array<[string, string]> = [
    [`${base}.json`, `${JSON.stringify(json, null, 2)}\n`],
    [`${base}.md`, renderMarkdown(header, result)],
    [`${base}.svg`, renderSvgChart(`${result.scenario} — ${header.date} — ${header.commit.slice(0, 12)}`, chartGroups(result))],
  ];
  for (const [path, text] of files) await writeFile(path, text);
  return files.map(([path]) => path);
}
