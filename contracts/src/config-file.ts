import { readFileSync } from 'node:fs';
import { LineCounter, parseDocument, isNode } from 'yaml';
import type { z } from 'zod';
import { formatIssuePath } from './payloads/codec.js';

export interface ConfigProblem {
  /** path inside the file, e.g. devices[2].port */
  path: string;
  message: string;
  /** 1-based line in the file, when known */
  line?: number;
}

/** A config file that cannot be used; the message names the file, the path inside it and what was expected. */
export class ConfigError extends Error {
  constructor(
    readonly file: string,
    readonly problems: ConfigProblem[],
  ) {
    super(
      `invalid config ${file}:\n` +
        problems.map((p) => `  - ${p.path}${p.line ? ` (line ${p.line})` : ''}: ${p.message}`).join('\n'),
    );
    this.name = 'ConfigError';
  }
}

/** Parses YAML text and validates it against a schema; `file` is used in error messages only. */
export function parseConfigText<S extends z.ZodType>(text: string, file: string, schema: S): z.output<S> {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) {
    throw new ConfigError(
      file,
      doc.errors.map((e) => ({
        path: '(yaml)',
        message: e.message.split('\n')[0] ?? e.message,
        line: lineCounter.linePos(e.pos[0]).line,
      })),
    );
  }
  const parsed = schema.safeParse(doc.toJS() ?? {});
  if (parsed.success) return parsed.data;
  throw new ConfigError(
    file,
    parsed.error.issues.map((issue) => {
      const node = doc.getIn(issue.path as unknown[], true);
      const offset = isNode(node) ? node.range?.[0] : undefined;
      return {
        path: formatIssuePath(issue.path),
        message: issue.message,
        line: offset === undefined ? undefined : lineCounter.linePos(offset).line,
      };
    }),
  );
}

/** Reads and validates a YAML config file. Throws ConfigError for a missing, unparsable or invalid file. */
export function loadConfigFile<S extends z.ZodType>(file: string, schema: S): z.output<S> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(file, [{ path: '(file)', message: `cannot be read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}` }]);
  }
  return parseConfigText(text, file, schema);
}
