/** The CLI's commands, one file each under commands/; pipeline.ts parses arguments and prints. */
export { cleanCommand } from './commands/clean.ts';
export { execCommand } from './commands/exec.ts';
export { gcCommand, type GcResult } from './commands/gc.ts';
export { graphCommand } from './commands/graph.ts';
export { listCommand } from './commands/list.ts';
export { planCommand } from './commands/plan.ts';
export { runCommand } from './commands/run.ts';
export { placement } from './commands/shared.ts';
export type { RunSummary, TargetOptions } from './commands/shared.ts';
export { showCommand } from './commands/show.ts';
export { verifyCommand, type VerifyResult } from './commands/verify.ts';
export { logsCommand, type NodeLogs } from './commands/logs.ts';
export { initCommand } from './commands/init.ts';
