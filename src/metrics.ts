import { createServer, type Server } from 'node:http';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

/**
 * What a process counts, in Prometheus' text format: one registry per process (worker, API, or
 * both in the dev stack). Labels carry account names and outcomes, never addresses or secrets.
 */
export function createMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const registers = [registry];
  return {
    registry,
    /** One SMTP transaction: `sent`, `refused` (5xx about the recipient), `transient` (retried), `account` (quota/auth: the campaign pauses). */
    smtpTransactions: new Counter({
      name: 'campaign_mailer_smtp_transactions_total',
      help: 'SMTP transactions by account and outcome',
      labelNames: ['account', 'outcome'] as const,
      registers,
    }),
    smtpSeconds: new Histogram({
      name: 'campaign_mailer_smtp_transaction_seconds',
      help: 'Time of one SMTP transaction, from MAIL FROM to the reply after DATA',
      labelNames: ['account'] as const,
      buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
      registers,
    }),
    throttleWaitSeconds: new Histogram({
      name: 'campaign_mailer_throttle_wait_seconds',
      help: 'Time a message waited inside the send activity for its slot under the rate limits',
      labelNames: ['account'] as const,
      buckets: [0, 0.1, 0.5, 1, 2, 5, 10, 20, 30],
      registers,
    }),
    throttleDeferrals: new Counter({
      name: 'campaign_mailer_throttle_deferrals_total',
      help: 'Sends whose next slot was too far off to wait for in the activity: they wait on a durable timer',
      labelNames: ['account'] as const,
      registers,
    }),
    sentCopies: new Counter({
      name: 'campaign_mailer_sent_copies_total',
      help: 'Sent-folder copies: `appended`, or `present` when a copy was already there',
      labelNames: ['account', 'outcome'] as const,
      registers,
    }),
    recipientsBuilt: new Counter({
      name: 'campaign_mailer_recipients_built_total',
      help: 'Recipients given a build status',
      labelNames: ['status'] as const,
      registers,
    }),
    buildRowsWaiting: new Gauge({
      name: 'campaign_mailer_build_rows_waiting',
      help: 'List entries the builds on this worker have read and rendered and not written yet',
      registers,
    }),
    httpSeconds: new Histogram({
      name: 'campaign_mailer_http_request_seconds',
      help: 'API requests by method, route pattern and status',
      labelNames: ['method', 'route', 'status'] as const,
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 15],
      registers,
    }),
  };
}
export type Metrics = ReturnType<typeof createMetrics>;

/** Serves GET /metrics on its own port, away from the API's authenticated routes. */
export async function serveMetrics(metrics: Metrics, port: number, host: string): Promise<Server> {
  const server = createServer((req, res) => {
    if (req.method !== 'GET' || req.url !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('GET /metrics\n');
      return;
    }
    metrics.registry.metrics().then(
      (text) => res.writeHead(200, { 'content-type': metrics.registry.contentType }).end(text),
      (err: Error) => res.writeHead(500, { 'content-type': 'text/plain' }).end(`${err.message}\n`),
    );
  });
  await new Promise<void>((ok, fail) => {
    server.once('error', fail);
    server.listen(port, host, () => ok());
  });
  return server;
}
