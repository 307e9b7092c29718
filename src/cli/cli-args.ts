import { parseArgs } from 'node:util';
import { cliLimits, membershipLimits, skuPattern } from '../config/limits.js';
import { commandSpec, commandSpecs, commandWords, type CliCommand, type CommandName, type CommandOption, type HelpTopic } from './cli-commands.js';

/**
 * Parsing of `boxoffice <command> [options]` is pure: argv and the environment in, a command with resolved options
 * (or a help request) out. A bad argument is a UsageError whose message says what was wrong; the caller prints it
 * and exits with code 2.
 */
export class UsageError extends Error {
  constructor(
    message: string,
    /** The help topic whose usage line helps most with this mistake. */
    readonly topic: HelpTopic = null,
  ) {
    super(message);
  }
}



export interface CliOptions {
  /** Base URL of a node, without a trailing slash. */
  url: string;
  token: string;
  json: boolean;
  timeoutMs: number;
}

export type CliInvocation = { kind: 'help'; topic: HelpTopic } | { kind: 'run'; command: CliCommand; options: CliOptions };

export type CliEnv = Readonly<Record<string, string | undefined>>;

export function parseCliArgs(argv: readonly string[], env: CliEnv): CliInvocation {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      options: {
        url: { type: 'string' },
        token: { type: 'string' },
        json: { type: 'boolean', default: false },
        timeout: { type: 'string' },
        help: { type: 'boolean', short: 'h', default: false },
        node: { type: 'string' },
        to: { type: 'string' },
      },
      strict: true,
      allowPositionals: true,
    });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const v = parsed.values;
  const words = parsed.positionals;
  if (words[0] === 'help') return { kind: 'help', topic: helpTopicOf(words.slice(1)) };
  if (v.help) return { kind: 'help', topic: helpTopicOf(words) };
  const [name, rest] = commandOf(words);
  const spec = commandSpec(name);
  if (rest.length !== spec.args.length) {
    const wanted = spec.args.length === 0 ? 'no arguments' : spec.args.map((a) => `<${a}>`).join(' ');
    throw new UsageError(`${name} takes ${wanted}, got ${rest.length === 0 ? 'none' : rest.map((r) => `'${r}'`).join(' ')}`, name);
  }
  for (const option of ['node', 'to'] as const satisfies readonly CommandOption[]) {
    if (v[option] !== undefined && !spec.options.includes(option)) throw new UsageError(`${name} does not take --${option}`, name);
  }
  return { kind: 'run', command: buildCommand(name, rest, v), options: resolveOptions(v, env) };
}

/** The command named by the leading words, and the words after them. */
function commandOf(words: readonly string[]): [CommandName, string[]] {
  const [first, second] = words;
  if (first === undefined) throw new UsageError('no command given');
  if (first === 'partitions') {
    const name = `partitions ${second}`;
    const sub = commandSpecs.find((c) => c.name === name);
    if (sub === undefined) throw new UsageError(second === undefined ? 'partitions needs a sub-command: list or move' : `unknown sub-command 'partitions ${second}' (known: list, move)`, 'partitions');
    return [sub.name, words.slice(2)];
  }
  const spec = commandSpecs.find((c) => c.name === first);
  if (spec === undefined) throw new UsageError(`unknown command '${first}' (known: ${commandWords.join(', ')})`);
  return [spec.name, words.slice(1)];
}

/** `--help` after any words, or `help <words>`: the most specific topic those words name; unknown words get the global help. */
function helpTopicOf(words: readonly string[]): HelpTopic {
  try {
    return commandOf(words)[0];
  } catch {
    return words[0] === 'partitions' ? 'partitions' : null;
  }
}

function buildCommand(name: CommandName, args: readonly string[], v: { node?: string; to?: string }): CliCommand {
  switch (name) {
    case 'status':
    case 'rebalance':
      return { name };
    case 'partitions list':
      return { name, node: v.node === undefined ? null : nodeId(v.node, '--node', name) };
    case 'partitions move': {
      if (v.to === undefined) throw new UsageError('partitions move needs --to <node>', name);
      return { name, partition: partitionNumber(args[0]!), to: nodeId(v.to, '--to', name) };
    }
    case 'drain':
    case 'undrain':
      return { name, node: nodeId(args[0]!, '<node>', name) };
    case 'isolate': {
      const sku = args[0]!;
      if (!skuPattern.test(sku)) throw new UsageError(`'${sku}' is not a SKU (1-64 of A-Z a-z 0-9 . _ : - starting alphanumeric)`, name);
      return { name, sku };
    }
  }
}

function nodeId(value: string, what: string, topic: CommandName): string {
  if (!membershipLimits.nodeIdPattern.test(value)) throw new UsageError(`${what} '${value}' is not a node id (1-64 of A-Z a-z 0-9 . _ -)`, topic);
  return value;
}

function partitionNumber(value: string): number {
  // The node answers 404 PARTITION_NOT_FOUND past its partition count; this only refuses what is not a number.
  if (!/^\d{1,9}$/.test(value)) throw new UsageError(`'${value}' is not a partition number`, 'partitions move');
  return Number(value);
}

function resolveOptions(v: { url?: string; token?: string; json?: boolean; timeout?: string }, env: CliEnv): CliOptions {
  const url = normalizeUrl(v.url ?? nonEmpty(env['BOXOFFICE_URL']) ?? defaultUrl(env), v.url !== undefined ? '--url' : env['BOXOFFICE_URL'] ? 'BOXOFFICE_URL' : 'PORT');
  const token = v.token ?? nonEmpty(env['ADMIN_TOKEN']);
  if (token === undefined || token === '') throw new UsageError('no admin token: pass --token <token> or set ADMIN_TOKEN');
  return { url, token, json: v.json ?? false, timeoutMs: timeoutMs(v.timeout) };
}

function defaultUrl(env: CliEnv): string {
  const port = nonEmpty(env['PORT']);
  if (port === undefined) return `http://127.0.0.1:${cliLimits.portDefault}`;
  if (!/^\d{1,5}$/.test(port) || Number(port) < 1 || Number(port) > 65535) throw new UsageError(`PORT=${port} is not a port; pass --url <http://host:port>`);
  return `http://127.0.0.1:${Number(port)}`;
}

/** An http(s) URL without query, fragment or trailing slash; a path prefix (behind a proxy) is kept. */
export function normalizeUrl(raw: string, source: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new UsageError(`${source}: '${raw}' is not a URL (expected http://host:port)`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new UsageError(`${source}: '${raw}' is not an http:// or https:// URL`);
  if (url.search !== '' || url.hash !== '' || url.username !== '' || url.password !== '') throw new UsageError(`${source}: '${raw}' must be a plain base URL (no credentials, query or fragment)`);
  return `${url.origin}${url.pathname.replace(/\/+$/, '')}`;
}

function timeoutMs(raw: string | undefined): number {
  if (raw === undefined) return cliLimits.timeoutMsDefault;
  const ms = /^\d{1,10}$/.test(raw) ? Number(raw) : NaN;
  if (!(ms >= 1 && ms <= cliLimits.timeoutMsMax)) throw new UsageError(`--timeout '${raw}' must be a whole number of milliseconds from 1 to ${cliLimits.timeoutMsMax}`);
  return ms;
}

const nonEmpty = (s: string | undefined): string | undefined => (s === undefined || s === '' ? undefined : s);
