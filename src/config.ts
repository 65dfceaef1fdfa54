import { z } from 'zod';
import { DEFAULT_TASK_QUEUE } from './contract/workflow-ids.js';
import { masterKeyProblem, previousKeysProblem, splitKeys } from './crypto/secrets.js';
import { sendWindowSchema } from './contract/send-window.js';
import { PRIVATE_HOST_ALLOWANCES } from './net/host-policy.js';
import { keyProblem } from './contract/key-patterns.js';
import { parseLocations, type S3Location } from './s3/locations.js';

// Configuration comes from the environment, is validated once at start, and a bad value stops
// the process with one line per variable. Values are never echoed: several carry passwords.

export interface ServerEndpoint {
  host: string;
  port: number;
  /** Implicit TLS (smtps://, imaps://). Without it, STARTTLS is used when the server offers it. */
  secure: boolean;
  user?: string;
  pass?: string;
  /** Without implicit TLS: upgrade with STARTTLS or do not log in (an account's `starttls`). */
  requireTls?: boolean;
}

function endpointUrl(schemes: { plain: string; secure: string; plainPort: number; securePort: number }) {
  const example = `${schemes.plain}://user:pass@host:${schemes.plainPort}`;
  return z.string().transform((value, ctx): ServerEndpoint => {
    let url: URL;
    try {
      url = new URL(value);
    } catch {
      ctx.addIssue({ code: 'custom', message: `must be a URL like ${example}` });
      return z.NEVER;
    }
    const scheme = url.protocol.replace(/:$/, '');
    if (scheme !== schemes.plain && scheme !== schemes.secure) {
      ctx.addIssue({ code: 'custom', message: `must start with ${schemes.plain}:// or ${schemes.secure}://` });
      return z.NEVER;
    }
    if (!url.hostname) {
      ctx.addIssue({ code: 'custom', message: `has no host; expected ${example}` });
      return z.NEVER;
    }
    const secure = scheme === schemes.secure;
    return {
      host: url.hostname.replace(/^\[|\]$/g, ''),
      port: url.port ? Number(url.port) : secure ? schemes.securePort : schemes.plainPort,
      secure,
      user: url.username ? decodeURIComponent(url.username) : undefined,
      pass: url.password ? decodeURIComponent(url.password) : undefined,
    };
  });
}

const hostPort = z
  .string()
  .regex(/^[^\s:/]+(:\d{1,5})?$|^\[[0-9a-fA-F:]+\](:\d{1,5})?$/, 'must be host:port, like localhost:7233');

const port = z.coerce
  .number({ error: 'must be a port number' })
  .int('must be a whole number')
  .min(1, 'must be between 1 and 65535')
  .max(65535, 'must be between 1 and 65535');

const postgresUrl = z
  .string()
  .refine((v) => /^postgres(ql)?:\/\/./.test(v), 'must be a URL like postgres://user:pass@host:5432/db');

const optionalText = z.string().min(1).optional();

/**
 * Read by @temporalio/envconfig (src/temporal.ts) over a profile of its TOML file; the address
 * may come from the profile instead of TEMPORAL_ADDRESS.
 */
/** Seconds a process waits at start for the servers it needs to answer: Temporal (API, worker), PostgreSQL (migrate). */
const startupWait = z.coerce
  .number({ error: 'must be a number' })
  .int('must be a whole number')
  .min(0, 'must be at least 0')
  .max(3600, 'must be at most 3600')
  .default(60);

const temporal = {
  TEMPORAL_ADDRESS: hostPort.optional(),
  TEMPORAL_NAMESPACE: z.string().min(1).default('default'),
  TEMPORAL_PROFILE: optionalText,
  TEMPORAL_CONFIG_FILE: optionalText,
  TEMPORAL_TLS: z.enum(['true', 'false', '1', '0'], { error: 'must be true or false' }).optional(),
  TEMPORAL_TLS_CLIENT_CERT_PATH: optionalText,
  TEMPORAL_TLS_CLIENT_CERT_DATA: optionalText,
  TEMPORAL_TLS_CLIENT_KEY_PATH: optionalText,
  TEMPORAL_TLS_CLIENT_KEY_DATA: optionalText,
  TEMPORAL_TLS_SERVER_CA_CERT_PATH: optionalText,
  TEMPORAL_TLS_SERVER_CA_CERT_DATA: optionalText,
  TEMPORAL_TLS_SERVER_NAME: optionalText,
  TEMPORAL_TASK_QUEUE: z.string().min(1).default(DEFAULT_TASK_QUEUE),
  /** Temporal Cloud or any server that takes an API key; implies TLS. */
  TEMPORAL_API_KEY: z.string().min(1).optional(),
  /** Base URL of the Temporal Web UI, used for links in API answers. */
  TEMPORAL_UI_URL: z.url({ error: 'must be a URL like http://localhost:8233' }).optional(),
  STARTUP_WAIT_SECONDS: startupWait,
};

/** Any S3-compatible store: attachments and recipient lists are read from it. */
const s3 = {
  S3_ENDPOINT: z.url({ error: 'must be a URL like http://127.0.0.1:9000' }).optional(),
  S3_REGION: z.string().min(1).default('us-east-1'),
  S3_ACCESS_KEY_ID: z.string().min(1).optional(),
  S3_SECRET_ACCESS_KEY: z.string().min(1).optional(),
  S3_FORCE_PATH_STYLE: z
    .enum(['true', 'false', '1', '0'])
    .default('false')
    .transform((v) => v === 'true' || v === '1'),
  /**
   * The S3 locations (`bucket` or `bucket/prefix`, comma or space separated) the `default` tenant
   * may read while its settings name none. Unset: none.
   */
  S3_ALLOWED_LOCATIONS: z
    .string()
    .optional()
    .transform((v, ctx): S3Location[] => {
      const locations = parseLocations(v);
      for (const l of locations) {
        if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(l.bucket)) ctx.addIssue({ code: 'custom', message: `"${l.bucket}" is not a valid S3 bucket name` });
        const problem = l.prefix ? keyProblem(l.prefix) : undefined;
        if (problem) ctx.addIssue({ code: 'custom', message: `the prefix of ${l.bucket} ${problem}` });
      }
      return locations;
    }),
};
const s3Schema = z.object(s3);
export type S3Config = z.infer<typeof s3Schema>;
/** What the worker builds and how: a message size cap, and the workflow code it runs. */
const workerBuild = {
  /** Messages whose estimated size exceeds this are blocked at build time. */
  MAX_MESSAGE_BYTES: z.coerce.number().int().min(1024).default(25 * 1024 * 1024),
  /** A prebuilt workflow bundle (from `bundleWorkflowCode`); unset, the worker bundles src/workflows at start. */
  WORKFLOW_BUNDLE_PATH: z.string().min(1, 'must be a file path').optional(),
};
/** A master key: 32 bytes as 64 hex digits or base64 (the problem in words otherwise). */
export const masterKeyValue = z.string().superRefine((v, ctx) => {
  const problem = masterKeyProblem(v);
  if (problem) ctx.addIssue({ code: 'custom', message: problem });
});
/** Older master keys (comma-separated) that only open what they sealed, until `npm run reseal`. */
export const previousMasterKeys = z
  .string()
  .superRefine((v, ctx) => {
    const problem = previousKeysProblem(v);
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  })
  .transform(splitKeys)
  .default([]);
/** Seals stored account passwords (AES-256-GCM). */
const masterKey = {
  MASTER_KEY: masterKeyValue.optional(),
  MASTER_KEY_PREVIOUS: previousMasterKeys,
  /** Base URL the API is reached at from the internet, for one-click unsubscribe links (src/unsubscribe). */
  PUBLIC_URL: z
    .url({ protocol: /^https?$/, error: 'must be an http(s) URL like https://mailer.example.com' })
    // Links go out in every message: plain http would let anyone on the way read or change them.
    .refine((u) => new URL(u).protocol === 'https:' || LOOPBACK_HOST.test(new URL(u).hostname), 'must be https (plain http only for this machine: localhost, 127.0.0.1, [::1])')
    .optional(),
  /** The key unsubscribe links are signed with (32+ characters); unset: one derived from MASTER_KEY. */
  UNSUBSCRIBE_KEY: z.string().min(32, 'must be at least 32 characters').optional(),
  /** How often each account's INBOX is read for bounces (a Temporal Schedule per account), or `off`. */
  BOUNCE_CHECK_EVERY: z
    .string()
    .regex(/^(off|\d+ ?(s|seconds?|m|minutes?|h|hours?))$/, 'must be a duration like "5 minutes" or "off"')
    .default('5 minutes'),
};

const LOOPBACK_HOST = /^(localhost|127(\.\d{1,3}){3}|\[::1\])$/;
/** The placeholders of .env.example: a copied file that still holds one must not start. */
const PLACEHOLDER = /replace-with|change-me/i;

const count = (min: number) => z.coerce.number({ error: 'must be a number' }).int('must be a whole number').min(min, `must be at least ${min}`);

/**
 * What tenant input may cost the installation: which inward hosts its accounts may reach, and
 * the limits its templates render under (in the API's previews and the worker's build and send).
 */
const tenantInput = {
  /** Inward addresses accounts may connect to: none (default), loopback, private (also loopback) or all. */
  ALLOW_PRIVATE_HOSTS: z.enum(PRIVATE_HOST_ALLOWANCES, { error: 'must be none, loopback, private or all' }).default('none'),
  TEMPLATE_PARSE_LIMIT: count(1000).default(5_000_000),
  TEMPLATE_RENDER_MS: count(1).default(1000),
  TEMPLATE_MEMORY_LIMIT: count(1000).default(10_000_000),
  /** Recipients one campaign may have, whatever its source. */
  MAX_RECIPIENTS_PER_CAMPAIGN: count(1).default(1_000_000),
};

/** GET /metrics (Prometheus) on a port of its own; off when unset. */
const metricsEndpoint = {
  METRICS_PORT: port.optional(),
  METRICS_HOST: z.string().min(1).default('127.0.0.1'),
};

/** The limits of the account SMTP_URL configures (`default`): the worker keeps to them, the API plans with them. */
const defaultAccountLimits = {
  /** 0 means none. */
  SMTP_MESSAGES_PER_MINUTE: z.coerce.number({ error: 'must be a number' }).min(0).default(0),
  SMTP_MESSAGES_PER_DAY: z.coerce.number({ error: 'must be a number' }).int().min(0).default(0),
  /** When it may send, as JSON: {"days":["mon","tue","wed","thu","fri"],"from":"08:00","to":"18:00","timeZone":"Europe/Berlin"}. */
  SMTP_SEND_WINDOW: z
    .string()
    .transform((text, ctx) => {
      try {
        return JSON.parse(text) as unknown;
      } catch {
        ctx.addIssue({ code: 'custom', message: 'must be JSON like {"days":["mon"],"from":"08:00","to":"18:00","timeZone":"UTC"}' });
        return z.NEVER;
      }
    })
    .pipe(sendWindowSchema)
    .optional(),
};

const logLevel = {
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
};

/** The worker's Temporal tuning; unset knobs follow from SMTP_MAX_CONNECTIONS (src/worker/tuning.ts). */
const workerTuning = {
  WORKER_WORKFLOW_SLOTS: count(2).max(10_000).optional(),
  WORKER_ACTIVITY_SLOTS: count(1).max(10_000).optional(),
  WORKER_CACHED_WORKFLOWS: count(0).max(100_000).optional(),
  /** Seconds a stopping worker lets running activities finish before cancelling them. */
  WORKER_SHUTDOWN_GRACE_SECONDS: count(0).max(3600).default(60),
  /** A prebuilt workflow bundle (`npm run bundle`); the worker bundles from source when unset. */
  WORKFLOW_BUNDLE_PATH: optionalText,
};

export const workerEnvSchema = z.object({
  ...temporal,
  ...tenantInput,
  ...metricsEndpoint,
  ...s3,
  ...workerBuild,
  ...masterKey,
  ...logLevel,
  DATABASE_URL: postgresUrl,
  SMTP_URL: endpointUrl({ plain: 'smtp', secure: 'smtps', plainPort: 587, securePort: 465 }),
  SMTP_MAX_CONNECTIONS: z.coerce.number().int().min(1).max(50).default(3),
  /** SMTP sends one worker runs at once (its send task queue's slots); default twice SMTP_MAX_CONNECTIONS. */
  SMTP_SEND_SLOTS: z.coerce.number({ error: 'must be a number' }).int().min(1).max(500).optional(),
  ...defaultAccountLimits,
  IMAP_URL: endpointUrl({ plain: 'imap', secure: 'imaps', plainPort: 143, securePort: 993 }).optional(),
  /** Mailbox for Sent copies; found by the \Sent special-use flag or usual names when unset. */
  IMAP_SENT_FOLDER: z.string().min(1).optional(),
  /** Skip certificate checks on SMTP/IMAP (self-signed test servers only). */
  TLS_INSECURE: z
    .enum(['true', 'false', '1', '0'])
    .default('false')
    .transform((v) => v === 'true' || v === '1'),
  /**
   * What a retry does when the ledger shows an earlier attempt that died inside the SMTP
   * transaction (outcome unknown): `resend` (risk one duplicate) or `hold` (risk one missing).
   */
  DELIVERY_UNKNOWN_POLICY: z.enum(['resend', 'hold']).default('resend'),
  ...workerTuning,
});
export type WorkerConfig = z.infer<typeof workerEnvSchema>;

/** `npm run migrate` (the image's `migrate`). */
export const migrateEnvSchema = z.object({
  DATABASE_URL: z.string().min(1),
  STARTUP_WAIT_SECONDS: startupWait,
});

export const apiEnvSchema = z.object({
  ...temporal,
  ...tenantInput,
  /** Requests one key may make per minute; over it is a 429 with Retry-After. */
  RATE_LIMIT_PER_MINUTE: count(1).default(600),
  /** Requests one tenant may make per minute, all its keys together. */
  RATE_LIMIT_PER_TENANT_PER_MINUTE: count(1).default(2400),
  /** Failed authentications one client address may make per minute; over it the address waits out the minute. */
  AUTH_FAILURES_PER_MINUTE: count(1).default(30),
  /** Requests one client address may make per minute to what needs no key (`/readyz`, `/unsubscribe`). */
  PUBLIC_REQUESTS_PER_MINUTE: count(1).default(120),
  /** Accounts one tenant may have. */
  MAX_ACCOUNTS_PER_TENANT: count(1).default(50),
  /** Attachment bytes one preview may fetch from S3. */
  PREVIEW_MAX_ATTACHMENT_BYTES: count(0).default(25 * 1024 * 1024),
  /** Milliseconds a preview's templates may take: the API's event loop is held at most this long. */
  PREVIEW_RENDER_MS: count(1).default(50),
  /** Items one list page may hold (`limit` of the list routes). */
  PAGE_MAX_ITEMS: count(1).default(1000),
  ...defaultAccountLimits,
  ...metricsEndpoint,
  ...s3,
  ...masterKey,
  ...logLevel,
  DATABASE_URL: postgresUrl,
  API_KEY: z
    .string()
    .min(16, 'must be at least 16 characters')
    .refine((k) => !PLACEHOLDER.test(k), 'is the placeholder of .env.example: set a random key (openssl rand -base64 24)'),
  PORT: port.default(3000),
  HOST: z.string().min(1).default('127.0.0.1'),
});
export type ApiConfig = z.infer<typeof apiEnvSchema>;

export class ConfigError extends Error {
  override name = 'ConfigError';
  constructor(readonly problems: string[]) {
    super(problems.join('\n'));
  }
}

export function parseEnv<S extends z.ZodType>(schema: S, env: Record<string, string | undefined>): z.infer<S> {
  // An empty variable means "unset", as it does in most shells and .env files.
  const cleaned = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const result = schema.safeParse(cleaned);
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => {
    const name = issue.path.join('.') || 'environment';
    // A coerced number that is not one reports an undefined input too: only an absent variable is "required".
    const absent = issue.code === 'invalid_type' && issue.input === undefined && !(String(issue.path[0]) in cleaned);
    const message = absent ? 'is required' : issue.message;
    return `${name}: ${message}`;
  });
  throw new ConfigError(problems);
}

/** Parses the environment for a process entry point, exiting with one line per problem. */
export function loadConfigOrExit<S extends z.ZodType>(schema: S, env = process.env): z.infer<S> {
  return orExitOnConfigError(() => parseEnv(schema, env));
}

/** Runs `read` (a step of reading the configuration), exiting with one line per problem on a ConfigError. */
export function orExitOnConfigError<T>(read: () => T): T {
  try {
    return read();
  } catch (err) {
    if (err instanceof ConfigError) {
      for (const line of err.problems) process.stderr.write(`Configuration error: ${line}\n`);
      process.exit(2);
    }
    throw err;
  }
}
