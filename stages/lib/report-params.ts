import type { ParamSpec } from '../../engine/stage-api.ts';

/** The params every report stage takes: what it shows and which build it belongs to. */
export const REPORT_PARAMS = {
  title: { type: 'string', doc: 'report title' },
  description: { type: 'string', default: '', doc: 'Markdown: what the figure reproduces and how to read it' },
  target: { type: 'string', doc: 'target name (use ${target})' },
  profile: { type: 'string', doc: 'profile name (use ${profile})' },
} as const satisfies Record<string, ParamSpec>;
