/**
 * The commands of the `boxoffice` CLI as data: each has its words, its positional arguments, the command options it
 * takes and its help. The parser (cli-args.ts) and the help text both read this table, so a command documented here
 * is a command that parses, and the other way round. docs/CLI.md documents the same commands for people.
 */
export type CliCommand =
  | { name: 'status' }
  | { name: 'partitions list'; node: string | null }
  | { name: 'partitions move'; partition: number; to: string }
  | { name: 'drain'; node: string }
  | { name: 'undrain'; node: string }
  | { name: 'rebalance' }
  | { name: 'isolate'; sku: string };

export type CommandName = CliCommand['name'];

/** Options that belong to one command; the global ones (--url, --token, --json, --timeout, --help) go with all. */
export type CommandOption = 'node' | 'to';

export interface CommandSpec {
  name: CommandName;
  /** Positional arguments after the command words, in order, as shown in the usage line. */
  args: readonly string[];
  options: readonly CommandOption[];
  /** The usage line after `boxoffice `. */
  usage: string;
  summary: string;
  /** Further lines of the command's own --help. */
  details: readonly string[];
  /** Help lines of `options`, listed before the global options. */
  optionHelp?: readonly string[];
}

export const commandSpecs: readonly CommandSpec[] = [
  {
    name: 'status',
    args: [],
    options: [],
    usage: 'status',
    summary: 'mode, coordinator, members and unowned partitions',
    details: ['Prints the coordinator, each member (node, inter-node address, partitions, drained, isolated) and how', 'many partitions no live node owns.'],
  },
  {
    name: 'partitions list',
    args: [],
    options: ['node'],
    usage: 'partitions list [--node <id>]',
    summary: 'which node owns which partitions',
    details: ['Prints one line per node with its partitions as ranges, then the pinned and isolated partitions.'],
    optionHelp: ['  --node <id>       only the partitions of this node'],
  },
  {
    name: 'partitions move',
    args: ['partition'],
    options: ['to'],
    usage: 'partitions move <partition> --to <node>',
    summary: 'move one partition to a node and pin it there',
    details: ['The partition pauses while it moves; the answer says how long. `rebalance` drops the pin.'],
    optionHelp: ['  --to <node>       the node that takes the partition (required)'],
  },
  {
    name: 'drain',
    args: ['node'],
    options: [],
    usage: 'drain <node>',
    summary: 'move every partition off a node and keep it empty',
    details: ['The node stays a member; it takes no partitions until `undrain`. Drains survive `rebalance`.'],
  },
  {
    name: 'undrain',
    args: ['node'],
    options: [],
    usage: 'undrain <node>',
    summary: 'let a drained node take partitions again',
    details: ['Moves its share of partitions back to it.'],
  },
  {
    name: 'rebalance',
    args: [],
    options: [],
    usage: 'rebalance',
    summary: 'drop move pins and spread partitions over the members',
    details: ['Drains and isolations stay as they are.'],
  },
  {
    name: 'isolate',
    args: ['sku'],
    options: [],
    usage: 'isolate <sku>',
    summary: "give a hot SKU's partition a node of its own",
    details: ["The SKU's partition ends up alone on a node; the answer names the node and how many partitions moved.", 'Isolations survive `rebalance`.'],
  },
];

/** The first words of every command (`partitions` has sub-commands). */
export const commandWords: readonly string[] = [...new Set(commandSpecs.map((c) => c.name.split(' ')[0]!))];

export function commandSpec(name: CommandName): CommandSpec {
  const spec = commandSpecs.find((c) => c.name === name);
  if (spec === undefined) throw new Error(`no spec for command '${name}'`);
  return spec;
}

const globalOptionLines = [
  '  --url <url>       HTTP address of any node (default: $BOXOFFICE_URL, else http://127.0.0.1:$PORT, PORT 3000)',
  '  --token <token>   admin token (default: $ADMIN_TOKEN; prefer the variable, arguments show in `ps`)',
  '  --json            print the JSON answer exactly as the node sent it',
  '  --timeout <ms>    give up waiting for the answer after this long (default 60000)',
  '  --help, -h        help, for every command',
];

const exitCodeLines = [
  'exit codes: 0 done, 1 the node answered with an error, 2 usage error,',
  '            3 the node could not be reached or did not answer in time',
];

/** Help of one command, of the `partitions` group, or of the whole CLI (null). */
export type HelpTopic = CommandName | 'partitions' | null;

export function helpText(topic: HelpTopic): string {
  if (topic === null) return globalHelp();
  if (topic === 'partitions') {
    const subs = commandSpecs.filter((c) => c.name.startsWith('partitions '));
    return ['usage:', ...subs.map((c) => `  boxoffice ${c.usage} [options]`), '', ...subs.map((c) => `${c.name}: ${c.summary}`), '', 'options:', ...subs.flatMap((c) => c.optionHelp ?? []), ...globalOptionLines, '', ...exitCodeLines].join('\n');
  }
  const spec = commandSpec(topic);
  return [`usage: boxoffice ${spec.usage} [options]`, '', `${spec.summary[0]!.toUpperCase()}${spec.summary.slice(1)}.`, ...spec.details, '', 'options:', ...(spec.optionHelp ?? []), ...globalOptionLines, '', ...exitCodeLines].join('\n');
}

function globalHelp(): string {
  const width = Math.max(...commandSpecs.map((c) => c.usage.length));
  return [
    'usage: boxoffice <command> [options]',
    '',
    "Operates a boxoffice cluster through any node's admin API (docs/CLI.md).",
    '',
    'commands:',
    ...commandSpecs.map((c) => `  ${c.usage.padEnd(width)}  ${c.summary}`),
    `  ${'help [command]'.padEnd(width)}  this text, or a command's`,
    '',
    'options:',
    ...globalOptionLines,
    '',
    ...exitCodeLines,
  ].join('\n');
}
