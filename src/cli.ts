// The container's entry point: `api`, `worker`, `migrate`, or `bundle <file>` (the workflow
// bundle the image builds once, so a worker starts without webpack).
const commands: Record<string, () => Promise<unknown>> = {
  api: () => import('./api/main.js'),
  worker: () => import('./worker/main.js'),
  migrate: () => import('./db/migrate-cli.js'),
  bundle: () => import('./worker/bundle-cli.js'),
};

const name = process.argv[2] ?? '';
const command = commands[name];
if (!command) {
  process.stderr.write(`usage: campaign-mailer ${Object.keys(commands).join('|')} (got "${name}")\n`);
  process.exit(2);
}
await command();
