import { startOtlpSink } from './otlp-sink.js';

/**
 * The test OTLP receiver as a process, for measuring the cost of exporting traces (docs/observability.md):
 * `node dist/test/support/otlp-sink-main.js [port]` prints its URL, and on SIGINT/SIGTERM the requests it took and the span ids in them (links included); it
 * does not parse them.
 */
void startOtlpSink(Number(process.argv[2] ?? '0'), false).then((sink) => {
  process.stdout.write(`${sink.url}\n`);
  const stop = (): void => {
    process.stdout.write(`requests ${sink.requests} span ids ${sink.spanCount}\n`);
    void sink.close().then(() => process.exit(0));
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
});
