/**
 * What expansion may build: nodes, the inputs handed to them, and the values in their params,
 * counted per stage from the sweep sizes before the stage's nodes are made.
 */
import type { StageSpec, TargetSpec } from './config.ts';
import { PipelineError } from '../errors.ts';
import { EDGES_PER_NODE, PARAM_VALUES_PER_NODE } from './limits.ts';

/** Counts what expansion builds, so a sweep too big is refused before its nodes are made. */
export interface Budget {
  maxNodes: number;
  nodes: number;
  edges: number;
  /** Values in all nodes' params after substitution, and their bound. */
  paramValues: number;
  maxParamValues: number;
}

/** Charges one stage's nodes and input edges to the budget; throws at the stage when it is spent. */
export function charge(t: TargetSpec, s: StageSpec, ordered: string[], stageAxes: Map<string, string[]>, budget: Budget, includedCount: (stage: string) => number | undefined = () => undefined): void {
  const count = ordered.reduce((n, a) => n * t.sweep[a].length, 1);
  // A mapped input is one edge a node; a gathered one every upstream node off the stage's axes.
  let perNode = 0;
  for (const edge of Object.values(s.inputs)) {
    // A stage of an included target (<target>/<stage>) hands over all of its nodes.
    for (const up of edge.from) perNode += includedCount(up) ?? (edge.gather ? stageAxes.get(up)!.filter((a) => !ordered.includes(a)).reduce((n, a) => n * t.sweep[a].length, 1) : 1);
  }
  budget.nodes += count;
  budget.edges += count * perNode;
  const axes = ordered.map((a) => `${a}: ${t.sweep[a].length}`).join(' x ');
  const raise = 'raise the budget with --max-nodes or PIPELINE_MAX_NODES';
  if (budget.nodes > budget.maxNodes) {
    throw new PipelineError(`this stage makes ${count.toLocaleString('en')} nodes${axes ? ` (${axes})` : ''}, which brings the target to ${budget.nodes.toLocaleString('en')}, over the budget of ${budget.maxNodes.toLocaleString('en')} nodes; ${raise}`, t.locate(['stages', s.name]));
  }
  const maxEdges = EDGES_PER_NODE * budget.maxNodes;
  if (budget.edges > maxEdges) {
    throw new PipelineError(`this stage's ${count.toLocaleString('en')} nodes read ${perNode.toLocaleString('en')} inputs each, which brings the target to ${budget.edges.toLocaleString('en')} inputs, over the budget of ${maxEdges.toLocaleString('en')} (${EDGES_PER_NODE} per node of the node budget); ${raise}`, t.locate(['stages', s.name, 'inputs']));
  }
}

export function newBudget(maxNodes: number): Budget {
  return { maxNodes, nodes: 0, edges: 0, paramValues: 0, maxParamValues: PARAM_VALUES_PER_NODE * maxNodes };
}
