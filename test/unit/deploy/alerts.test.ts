import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { at, deployDir, readYamlFile, repoRoot, type Yaml } from './deploy-files.js';
import { exportedMetricNames } from './exported-metrics.js';

/**
 * The alert rules of deploy/prometheus/alerts.yml: their shape, the metrics they read, their runbook entries, and
 * (with Prometheus' own `promtool`, from Debian's `prometheus` package, which .ci/run installs) that Prometheus
 * accepts them and that each fires on the series of deploy/prometheus/alerts.test.yml and stays quiet on a healthy
 * node.
 */
const prometheusDir = join(deployDir, 'prometheus');
const rules = (readYamlFile(join(prometheusDir, 'alerts.yml')).docs[0]!.groups as Yaml[]).flatMap((g) => g.rules as Yaml[]);
const ruleTests = readYamlFile(join(prometheusDir, 'alerts.test.yml')).docs[0]!.tests as Yaml[];
const promtool = ['/usr/bin/promtool', '/usr/local/bin/promtool'].find((p) => existsSync(p));

describe('alert rules', () => {
  it('names each alert once, with a severity, a summary, a description and a runbook entry that exists', () => {
    const operations = readFileSync(join(repoRoot, 'docs', 'operations.md'), 'utf8');
    const anchors = new Set([...operations.matchAll(/^#{2,4} (.+)$/gm)].map((m) => m[1]!.toLowerCase().replace(/[^a-z0-9 -]/g, '').replace(/ /g, '-')));
    const names = rules.map((r) => String(r.alert));
    expect(new Set(names).size).toBe(names.length);
    expect(names).toContain('BoxofficeOversold');
    for (const r of rules) {
      expect(['critical', 'warning'], String(r.alert)).toContain(at(r, 'labels', 'severity'));
      expect(String(at(r, 'annotations', 'summary')), String(r.alert)).not.toBe('undefined');
      expect(String(at(r, 'annotations', 'description')), String(r.alert)).not.toBe('undefined');
      const runbook = String(at(r, 'annotations', 'runbook'));
      expect(runbook, String(r.alert)).toMatch(/^docs\/operations\.md#/);
      expect(anchors, `${String(r.alert)}: ${runbook}`).toContain(runbook.split('#')[1]);
    }
  });

  it('reads only metrics a node exports', async () => {
    const exported = await exportedMetricNames();
    for (const r of rules) {
      for (const m of String(r.expr).matchAll(/\bboxoffice_[a-z0-9_]+/g)) {
        expect(exported, `${String(r.alert)}: ${m[0]}`).toContain(m[0].replace(/_(bucket|sum|count)$/, ''));
      }
    }
  });

  it('has a promtool case where each alert fires, and one where none does', () => {
    const expected = ruleTests.flatMap((t) => (t.alert_rule_test as Yaml[]).filter((c) => (c.exp_alerts as unknown[]).length > 0).map((c) => c.alertname));
    for (const r of rules) expect(expected, String(r.alert)).toContain(r.alert);
    const quiet = ruleTests.find((t) => (t.alert_rule_test as Yaml[]).every((c) => (c.exp_alerts as unknown[]).length === 0));
    expect(new Set((quiet!.alert_rule_test as Yaml[]).map((c) => c.alertname))).toEqual(new Set(rules.map((r) => r.alert)));
  });

  it('is loaded by the Prometheus of docker-compose.yml', () => {
    const prometheus = readYamlFile(join(prometheusDir, 'prometheus.yml')).docs[0]!;
    expect(prometheus.rule_files).toEqual(['/etc/prometheus/alerts.yml']);
    const compose = readFileSync(join(repoRoot, 'docker-compose.yml'), 'utf8');
    expect(compose).toContain('./deploy/prometheus/alerts.yml:/etc/prometheus/alerts.yml:ro');
  });
});

describe.skipIf(promtool === undefined)('alert rules, checked by promtool (Debian package `prometheus`)', () => {
  const work = mkdtempSync(join(tmpdir(), 'bo-promtool-'));
  afterAll(() => rmSync(work, { recursive: true, force: true }));
  const run = (...args: string[]) => execFileSync(promtool!, args, { cwd: work, encoding: 'utf8', stdio: 'pipe' });

  it('accepts the rules and the Prometheus configuration that loads them', () => {
    cpSync(join(prometheusDir, 'alerts.yml'), join(work, 'alerts.yml'));
    const config = readFileSync(join(prometheusDir, 'prometheus.yml'), 'utf8').replace('/etc/prometheus/alerts.yml', join(work, 'alerts.yml'));
    writeFileSync(join(work, 'prometheus.yml'), config);
    expect(run('check', 'rules', 'alerts.yml')).toContain(`SUCCESS: ${rules.length} rules found`);
    expect(run('check', 'config', 'prometheus.yml')).toContain('SUCCESS');
  });

  it('fires each alert on its case and none on a healthy node (promtool test rules)', () => {
    cpSync(join(prometheusDir, 'alerts.yml'), join(work, 'alerts.yml'));
    cpSync(join(prometheusDir, 'alerts.test.yml'), join(work, 'alerts.test.yml'));
    expect(run('test', 'rules', 'alerts.test.yml')).toContain('SUCCESS');
  });

  it('fails a rule test when an alert would not fire (the check can fail)', () => {
    const broken = readFileSync(join(prometheusDir, 'alerts.yml'), 'utf8').replace('boxoffice_oversold_units_total[10m])) > 0', 'boxoffice_oversold_units_total[10m])) > 5');
    writeFileSync(join(work, 'alerts.yml'), broken);
    cpSync(join(prometheusDir, 'alerts.test.yml'), join(work, 'alerts.test.yml'));
    expect(() => run('test', 'rules', 'alerts.test.yml')).toThrow(/BoxofficeOversold/);
  });
});

