// Captures one exception with the real @sentry/node SDK and flushes it, for the CloudProxy Sentry tests.
// Usage: node sentry-capture.js <dsn> <marker>   (prints the event id; exits 1 when the flush failed)
const Sentry = require('@sentry/node');

const [dsn, marker] = process.argv.slice(2);
Sentry.init({ dsn, defaultIntegrations: false, tracesSampleRate: 0, sendClientReports: false });
const id = Sentry.captureException(new Error(`node boom ${marker}`));
Sentry.flush(10000).then((ok) => {
  console.log(id);
  process.exit(ok ? 0 : 1);
});
