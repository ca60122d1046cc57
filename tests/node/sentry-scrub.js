// Sends one error with the real @sentry/node SDK carrying data the CloudProxy scrubbing test looks for: a
// request with cookies and an Authorization header, the user's IP, a password in extra, a breadcrumb with a
// card number. Usage: node sentry-scrub.js <dsn> <marker>   (exits 1 when the flush failed)
const Sentry = require('@sentry/node');

const [dsn, marker] = process.argv.slice(2);
Sentry.init({ dsn, defaultIntegrations: false, sendClientReports: false });
Sentry.setUser({ id: `user-${marker}`, ip_address: '198.51.100.23' });
Sentry.setExtra('password', 'hunter2-secret-pw');
Sentry.setExtra('note', `marker ${marker}`);
Sentry.addBreadcrumb({ category: 'payment', message: 'charged card 4111 1111 1111 1111', data: { card: '5555555555554444', amount: 12 } });
Sentry.getCurrentScope().addEventProcessor((event) => {
  event.request = {
    url: 'https://shop.example/checkout',
    method: 'POST',
    headers: { Cookie: 'session=cookie-session-value', Authorization: 'Bearer auth-bearer-value', 'User-Agent': 'scrub-test' },
    cookies: { session: 'cookie-session-value' },
    env: { REMOTE_ADDR: '203.0.113.99' },
  };
  return event;
});
Sentry.captureException(new Error(`node scrub ${marker}`));
Sentry.flush(10000).then((ok) => process.exit(ok ? 0 : 1));
