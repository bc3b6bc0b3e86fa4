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

/** A problem found in a valid configuration by a check beyond its schema (a profile that does not exist). */
export interface ConfigCheckProblem {
  path: (string | number)[];
  message: string;
}

/**
 * Parses YAML text and validates it against a schema, then runs `check` on the result; `file` is used
 * in error messages only. Every problem names its path and, where the file has it, its line.
 */
export function parseConfigText<S extends z.ZodType>(text: string, file: string, schema: S, check?: (config: z.output<S>) => ConfigCheckProblem[]): z.output<S> {
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
  const located = (path: readonly PropertyKey[], message: string) => {
    const node = doc.getIn(path as unknown[], true);
    const offset = isNode(node) ? node.range?.[0] : undefined;
    return { path: formatIssuePath(path), message, line: offset === undefined ? undefined : lineCounter.linePos(offset).line };
  };
  const parsed = schema.safeParse(doc.toJS() ?? {});
  if (!parsed.success) throw new ConfigError(file, parsed.error.issues.map((issue) => located(issue.path, issue.message)));
  const problems = check?.(parsed.data) ?? [];
  if (problems.length > 0) throw new ConfigError(file, problems.map((p) => located(p.path, p.message)));
  return parsed.data;
}

/** Reads and validates a YAML config file. Throws ConfigError for a missing, unparsable or invalid file. */
export function loadConfigFile<S extends z.ZodType>(file: string, schema: S, check?: (config: z.output<S>) => ConfigCheckProblem[]): z.output<S> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(file, [{ path: '(file)', message: `cannot be read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}` }]);
  }
  return parseConfigText(text, file, schema, check);
}
