// Sends one transaction (with a child span) and one exception inside it with the real @sentry/node SDK, for the
// CloudProxy Sentry key-mapping test: both envelopes carry the dynamic sampling context (`trace.public_key`).
// Usage: node sentry-transaction.js <dsn> <marker>   (exits 1 when the flush failed)
const Sentry = require('@sentry/node');

const [dsn, marker] = process.argv.slice(2);
Sentry.init({ dsn, defaultIntegrations: false, tracesSampleRate: 1, sendClientReports: false });
Sentry.startSpan({ name: `node transaction ${marker}`, op: 'test' }, () => {
  Sentry.startSpan({ name: 'child', op: 'db' }, () => {});
  Sentry.captureException(new Error(`node boom ${marker}`));
});
Sentry.flush(10000).then((ok) => process.exit(ok ? 0 : 1));
