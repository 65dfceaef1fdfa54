import type { HtmlToTextOptions } from 'html-to-text';
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import { TemplateRenderError } from './templates.js';

// A campaign with `html` and no `text` gets its text part from html-to-text. That conversion is
// synchronous and grows faster than its input (a 700 × 700-cell table: 58 s), and deeply nested
// HTML overflows its stack. It runs here in a worker thread, the conversions asked for together
// sent in one batch, under a size and a time limit: the API's event loop and the worker's
// heartbeats never wait on it, and a conversion over the limit blocks that one recipient, with
// the reason, like a template limit (a batch over the time limit is done again one by one).

interface HtmlTextLimits {
  /** Characters of rendered HTML a text part may be derived from. */
  maxChars: number;
  /** Milliseconds one conversion may take. */
  ms: number;
}

const LIMITS: HtmlTextLimits = { maxChars: 2_000_000, ms: 2000 };

const library = createRequire(import.meta.url).resolve('html-to-text');
const OPTIONS: HtmlToTextOptions = { wordwrap: 76 };

/** Conversions sent to the thread in one message: a message each cost more than a short conversion. */
const MAX_BATCH = 64;
/** Characters of html sent in one message, so that one batch stays short. */
const MAX_BATCH_CHARS = 200_000;

// CommonJS run by `eval`: the worker needs no loader for TypeScript. It takes a batch of html
// strings and answers each, in order, in one message.
const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads');
// Compiled once: convert() would compile the same options again for every message.
const convert = require(${JSON.stringify(library)}).compile(${JSON.stringify(OPTIONS)});
parentPort.on('message', ({ id, html }) => {
  parentPort.postMessage({ id, answers: html.map((one) => {
    try {
      return { text: convert(one) };
    } catch (err) {
      return { error: err instanceof RangeError ? 'nested too deeply' : String(err && err.message || err).split('\\n')[0] };
    }
  }) });
});
`;

type Answer = { text?: string; error?: string };
type Job = { html: string; resolve: (text: string) => void; reject: (err: Error) => void };

class HtmlTextConverter {
  private worker?: Worker;
  private waiting: Job[] = [];
  private draining = false;
  private nextId = 1;

  constructor(private readonly limits: HtmlTextLimits) {}

  /** The text part of `html`; a TemplateRenderError (overLimit) when it is too large, too deep or too slow. */
  convert(html: string): Promise<string> {
    if (html.length > this.limits.maxChars) {
      return Promise.reject(refusal(`the html has ${html.length} characters, more than the ${this.limits.maxChars} a text part is derived from`));
    }
    return new Promise<string>((resolve, reject) => {
      this.waiting.push({ html, resolve, reject });
      if (this.draining) return;
      this.draining = true;
      // After the current task, so that conversions asked for together go in one batch.
      queueMicrotask(() => void this.drain());
    });
  }

  /**
   * One batch at a time, in the order asked. A batch that fails as a whole (too slow, or the
   * thread died) is converted again one by one, each under the limits on its own: only the html
   * that is at fault is refused.
   */
  private async drain(): Promise<void> {
    while (this.waiting.length > 0) {
      const batch = this.take();
      const answers = await this.run(batch.map((j) => j.html));
      if (Array.isArray(answers)) {
        batch.forEach((job, i) => settle(job, answers[i]));
        continue;
      }
      if (batch.length === 1) {
        batch[0]!.reject(refusal(answers.failed));
        continue;
      }
      for (const job of batch) {
        const one = await this.run([job.html]);
        if (Array.isArray(one)) settle(job, one[0]);
        else job.reject(refusal(one.failed));
      }
    }
    this.draining = false;
  }

  private take(): Job[] {
    let chars = 0;
    let n = 0;
    while (n < this.waiting.length && n < MAX_BATCH && (n === 0 || chars + this.waiting[n]!.html.length <= MAX_BATCH_CHARS)) {
      chars += this.waiting[n]!.html.length;
      n++;
    }
    return this.waiting.splice(0, n);
  }

  /** The answers for `html`, in order; or why the batch as a whole failed. Never rejects. */
  private run(html: string[]): Promise<Answer[] | { failed: string }> {
    const worker = (this.worker ??= this.start());
    const id = this.nextId++;
    return new Promise((resolve) => {
      const done = (answer: Answer[] | { failed: string }) => {
        clearTimeout(timer);
        worker.off('message', onMessage);
        worker.off('error', onError);
        resolve(answer);
      };
      const onMessage = (a: { id: number; answers: Answer[] }) => {
        if (a.id === id) done(a.answers);
      };
      const onError = (err: Error) => done({ failed: `the html could not be converted: ${err.message}` });
      const timer = setTimeout(() => {
        // The conversion cannot be interrupted: the thread is replaced.
        if (this.worker === worker) this.worker = undefined;
        void worker.terminate();
        done({ failed: `converting the html took longer than ${this.limits.ms} ms` });
      }, this.limits.ms);
      worker.on('message', onMessage);
      worker.on('error', onError);
      worker.postMessage({ id, html });
    });
  }

  private start(): Worker {
    const worker = new Worker(WORKER_SOURCE, { eval: true, resourceLimits: { maxOldGenerationSizeMb: 256, stackSizeMb: 4 } });
    // An idle thread does not keep the process alive.
    worker.unref();
    worker.on('error', () => {
      if (this.worker === worker) this.worker = undefined;
    });
    worker.on('exit', () => {
      if (this.worker === worker) this.worker = undefined;
    });
    return worker;
  }
}

function settle(job: Job, a: Answer | undefined): void {
  if (a?.error !== undefined) job.reject(refusal(`the html could not be converted: ${a.error}`));
  else job.resolve(a?.text ?? '');
}

const refusal = (why: string) => new TemplateRenderError(`text part limit: ${why}; give the campaign a text template`, { overLimit: true });

const converter = new HtmlTextConverter(LIMITS);

/** The text part derived from rendered HTML, within this process's limits. */
export function htmlToText(html: string): Promise<string> {
  return converter.convert(html);
}
