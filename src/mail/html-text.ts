import type { HtmlToTextOptions } from 'html-to-text';
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import { TemplateRenderError } from './templates.js';

// A campaign with `html` and no `text` gets its text part from html-to-text. That conversion is
// synchronous and grows faster than its input (a 700 × 700-cell table: 58 s), and deeply nested
// HTML overflows its stack. It runs here in a worker thread, one conversion at a time, under a
// size and a time limit: the API's event loop and the worker's heartbeats never wait on it, and
// a conversion over the limit blocks that one recipient, with the reason, like a template limit.

interface HtmlTextLimits {
  /** Characters of rendered HTML a text part may be derived from. */
  maxChars: number;
  /** Milliseconds one conversion may take. */
  ms: number;
}

const LIMITS: HtmlTextLimits = { maxChars: 2_000_000, ms: 2000 };

const library = createRequire(import.meta.url).resolve('html-to-text');
const OPTIONS: HtmlToTextOptions = { wordwrap: 76 };

// CommonJS run by `eval`: the worker needs no loader for TypeScript.
const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads');
const { convert } = require(${JSON.stringify(library)});
parentPort.on('message', ({ id, html }) => {
  try {
    parentPort.postMessage({ id, text: convert(html, ${JSON.stringify(OPTIONS)}) });
  } catch (err) {
    parentPort.postMessage({ id, error: err instanceof RangeError ? 'nested too deeply' : String(err && err.message || err).split('\\n')[0] });
  }
});
`;

type Answer = { id: number; text?: string; error?: string };

class HtmlTextConverter {
  private worker?: Worker;
  private queue: Promise<unknown> = Promise.resolve();
  private nextId = 1;

  constructor(private readonly limits: HtmlTextLimits) {}

  /** The text part of `html`; a TemplateRenderError (overLimit) when it is too large, too deep or too slow. */
  convert(html: string): Promise<string> {
    if (html.length > this.limits.maxChars) {
      return Promise.reject(refusal(`the html has ${html.length} characters, more than the ${this.limits.maxChars} a text part is derived from`));
    }
    const run = this.queue.then(() => this.run(html));
    this.queue = run.catch(() => undefined);
    return run;
  }

  private run(html: string): Promise<string> {
    const worker = (this.worker ??= this.start());
    const id = this.nextId++;
    return new Promise<string>((resolve, reject) => {
      const done = (settle: () => void) => {
        clearTimeout(timer);
        worker.off('message', onMessage);
        worker.off('error', onError);
        settle();
      };
      const onMessage = (a: Answer) => {
        if (a.id !== id) return;
        done(() => (a.error !== undefined ? reject(refusal(`the html could not be converted: ${a.error}`)) : resolve(a.text ?? '')));
      };
      const onError = (err: Error) => done(() => reject(refusal(`the html could not be converted: ${err.message}`)));
      const timer = setTimeout(() => {
        // The conversion cannot be interrupted: the thread is replaced.
        if (this.worker === worker) this.worker = undefined;
        void worker.terminate();
        done(() => reject(refusal(`converting the html took longer than ${this.limits.ms} ms`)));
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

const refusal = (why: string) => new TemplateRenderError(`text part limit: ${why}; give the campaign a text template`, { overLimit: true });

const converter = new HtmlTextConverter(LIMITS);

/** The text part derived from rendered HTML, within this process's limits. */
export function htmlToText(html: string): Promise<string> {
  return converter.convert(html);
}
