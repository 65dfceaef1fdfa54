import { constants } from 'node:fs';
import { access, writeFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { bundleWorkflowCode } from '@temporalio/worker';
import { workflowSources } from './create.js';

// `bundle <file>`: the workflow code as one file, for WORKFLOW_BUNDLE_PATH (the image builds it once).
const out = process.argv[3] ?? process.env.WORKFLOW_BUNDLE_PATH;
if (!out) {
  process.stderr.write('usage: bundle <output file>\n');
  process.exit(2);
}
const cannotWrite = (err: unknown): never => {
  process.stderr.write(`cannot write the workflow bundle to ${out}: ${(err as Error).message}\n`);
  process.exit(1);
};
// Before the bundling's minute of work: a folder that is not there or not writable is said at once.
await access(dirname(resolve(out)), constants.W_OK).catch(cannotWrite);
const { code } = await bundleWorkflowCode({ workflowsPath: workflowSources() });
await writeFile(out, code).catch(cannotWrite);
process.stdout.write(`workflow bundle written to ${out} (${code.length} bytes)\n`);
