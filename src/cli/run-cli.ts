import { adminRequestFor, apiErrorOf, type AdminRequest } from './admin-api.js';
import { parseCliArgs, UsageError, type CliEnv, type CliOptions } from './cli-args.js';
import { commandSpec, helpText, type HelpTopic } from './cli-commands.js';
import { formatAnswer, formatError } from './cli-format.js';

/**
 * One run of the `boxoffice` CLI: parse, call the node, print, and answer the exit code. The network and the output
 * streams are passed in, so unit tests run it with a fake fetch and the entry point (boxoffice.ts) with the real ones.
 */
export const exitCodes = {
  ok: 0,
  /** The node answered with an error (or with something that is not an answer of this API). */
  apiError: 1,
  usage: 2,
  /** No answer: connection refused, unknown host, or --timeout passed. */
  unreachable: 3,
} as const;

export interface CliIo {
  fetch: typeof fetch;
  stdout(text: string): void;
  stderr(text: string): void;
}

type NodeAnswer = { kind: 'answer'; status: number; text: string; body: unknown } | { kind: 'unreachable'; code: 'UNREACHABLE' | 'TIMEOUT'; message: string };

export async function runCli(argv: readonly string[], env: CliEnv, io: CliIo): Promise<number> {
  let invocation;
  try {
    invocation = parseCliArgs(argv, env);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    io.stderr(`${formatError({ code: 'USAGE', message: err.message })}\n${usageHint(err.topic)}\n`);
    return exitCodes.usage;
  }
  if (invocation.kind === 'help') {
    io.stdout(`${helpText(invocation.topic)}\n`);
    return exitCodes.ok;
  }
  const { command, options } = invocation;
  const request = adminRequestFor(command);
  const answer = await callNode(options, request, io.fetch);
  if (answer.kind === 'unreachable') {
    // A POST that timed out may still complete on the node: say where to look instead of implying nothing happened.
    const after = answer.code === 'TIMEOUT' && request.method === 'POST' ? '\n  the node may still finish it: check `boxoffice status`' : '';
    io.stderr(`${formatError(answer)}${after}\n`);
    return exitCodes.unreachable;
  }
  const succeeded = answer.status >= 200 && answer.status < 300;
  if (options.json) io.stdout(answer.text.endsWith('\n') ? answer.text : `${answer.text}\n`);
  if (!succeeded) {
    io.stderr(`${formatError(apiErrorOf(answer.status, answer.body, answer.text))}\n`);
    return exitCodes.apiError;
  }
  if (options.json) return exitCodes.ok;
  const formatted = formatAnswer(command, answer.body);
  if (!formatted.ok) {
    io.stderr(`${formatError({ code: 'UNEXPECTED_RESPONSE', message: `${request.method} ${request.path} answered ${answer.status} with ${formatted.problem}` })}\n`);
    return exitCodes.apiError;
  }
  io.stdout(`${formatted.text}\n`);
  return exitCodes.ok;
}

/** After a usage error: the command's usage line, or the whole help when no command was recognised. */
function usageHint(topic: HelpTopic): string {
  if (topic === null) return `\n${helpText(null)}`;
  if (topic === 'partitions') return 'see `boxoffice partitions --help`';
  return `usage: boxoffice ${commandSpec(topic).usage} [options] (see \`boxoffice ${topic} --help\`)`;
}

async function callNode(options: CliOptions, request: AdminRequest, fetchFn: typeof fetch): Promise<NodeAnswer> {
  const url = `${options.url}${request.path}`;
  const headers: Record<string, string> = { authorization: `Bearer ${options.token}`, accept: 'application/json' };
  if (request.body !== undefined) headers['content-type'] = 'application/json';
  try {
    // One deadline for connecting, waiting and reading the body: --timeout bounds the whole call.
    const res = await fetchFn(url, {
      method: request.method,
      headers,
      body: request.body === undefined ? undefined : JSON.stringify(request.body),
      signal: AbortSignal.timeout(options.timeoutMs),
    });
    const text = await res.text();
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      body = undefined; // Not JSON: a proxy's error page, or another service on that port.
    }
    return { kind: 'answer', status: res.status, text, body };
  } catch (err) {
    if (err instanceof Error && (err.name === 'TimeoutError' || err.name === 'AbortError')) {
      return { kind: 'unreachable', code: 'TIMEOUT', message: `${request.method} ${url} did not answer within ${options.timeoutMs} ms` };
    }
    return { kind: 'unreachable', code: 'UNREACHABLE', message: `cannot reach ${options.url}: ${reasonOf(err)}` };
  }
}

/** undici's "fetch failed" hides the reason in `cause` (ECONNREFUSED, ENOTFOUND, …). */
function reasonOf(err: unknown): string {
  const cause = err instanceof Error ? (err.cause as { code?: unknown; message?: unknown } | undefined) : undefined;
  if (cause !== undefined && typeof cause.code === 'string') return typeof cause.message === 'string' ? cause.message : cause.code;
  if (cause !== undefined && typeof cause.message === 'string') return cause.message;
  return err instanceof Error ? err.message : String(err);
}
