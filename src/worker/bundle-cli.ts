import { writeFile } from 'node:fs/promises';
import { bundleWorkflowCode } from '@temporalio/worker';
import { workflowSources } from './create.js';

// `bundle <file>`: the workflow code as one file, for WORKFLOW_BUNDLE_PATH (the image builds it once).
const out = process.argv[3] ?? process.env.WORKFLOW_BUNDLE_PATH;
if (!out) {
  process.stderr.write('usage: bundle <output file>\n');
  process.exit(2);
}
const { code } = await bundleWorkflowCode({ workflowsPath: workflowSources() });
await writeFile(out, code);
process.stdout.write(`workflow bundle written to ${out} (${code.length} bytes)\n`);
