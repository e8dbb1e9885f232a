/**
 * ONNX models built in code with onnx-proto (the ONNX protobuf schema compiled for protobufjs),
 * never hand-written bytes. A Graph collects nodes, inputs and outputs by name; model() encodes it.
 * Dimensions are numbers (fixed) or strings (symbolic: one session then serves every size).
 */
import { createRequire } from 'node:module';
import type { onnx as OnnxNs } from 'onnx-proto';

// onnx-proto is CommonJS; loaded on first use so that importing this module costs nothing.
let onnxNs: typeof OnnxNs | undefined;
function onnx(): typeof OnnxNs {
  onnxNs ??= (createRequire(import.meta.url)('onnx-proto') as { onnx: typeof OnnxNs }).onnx;
  return onnxNs;
}

export type ElemType = 'float32' | 'float64' | 'int64' | 'bool';
export type Dim = number | string;
/** Attribute values: a whole number is an INT, { f } a FLOAT (Gemm's alpha), a list INTS. */
export type AttrValue = number | { f: number } | number[] | string | Graph;

const ELEM: Record<ElemType, number> = { float32: 1, int64: 7, bool: 9, float64: 11 };

/** ONNX opset and IR version of every model built here (ORT 1.30 runs both). */
const OPSET = 15;
const IR_VERSION = 8;

function valueInfo(name: string, type: ElemType, shape: Dim[]) {
  const o = onnx();
  return o.ValueInfoProto.create({
    name,
    type: { tensorType: { elemType: ELEM[type], shape: { dim: shape.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) } } },
  });
}

function attribute(name: string, v: AttrValue) {
  const o = onnx();
  const T = o.AttributeProto.AttributeType;
  if (typeof v === 'string') return o.AttributeProto.create({ name, type: T.STRING, s: new TextEncoder().encode(v) });
  if (Array.isArray(v)) return o.AttributeProto.create({ name, type: T.INTS, ints: v });
  if (v instanceof Graph) return o.AttributeProto.create({ name, type: T.GRAPH, g: v.proto() });
  if (typeof v === 'object') return o.AttributeProto.create({ name, type: T.FLOAT, f: v.f });
  if (!Number.isInteger(v)) throw new TypeError(`attribute ${name}: ${v} is not a whole number (use { f: ${v} } for a float)`);
  return o.AttributeProto.create({ name, type: T.INT, i: v });
}

export class Graph {
  private nodes: OnnxNs.INodeProto[] = [];
  private inputs: OnnxNs.IValueInfoProto[] = [];
  private outputs: OnnxNs.IValueInfoProto[] = [];
  private inits: OnnxNs.ITensorProto[] = [];
  private counter = 0;

  constructor(readonly name: string) {}

  input(name: string, type: ElemType, shape: Dim[]): string {
    this.inputs.push(valueInfo(name, type, shape));
    return name;
  }

  output(name: string, type: ElemType, shape: Dim[]): void {
    this.outputs.push(valueInfo(name, type, shape));
  }

  /** One node; returns its (single) output's name, `out` or a fresh one. */
  op(opType: string, inputs: string[], attrs: Record<string, AttrValue> = {}, out?: string): string {
    const name = out ?? `${this.name}_${opType.toLowerCase()}_${this.counter++}`;
    this.opMulti(opType, inputs, [name], attrs);
    return name;
  }

  /** A node with several outputs (Loop). */
  opMulti(opType: string, inputs: string[], outputs: string[], attrs: Record<string, AttrValue> = {}): void {
    this.nodes.push(onnx().NodeProto.create({ opType, input: inputs, output: outputs, attribute: Object.entries(attrs).map(([k, v]) => attribute(k, v)) }));
  }

  /** A constant tensor stored in the model (scalars: shape []). */
  constant(values: number[], type: 'float32' | 'float64' | 'int64', shape: number[] = []): string {
    const name = `${this.name}_const_${this.counter++}`;
    const o = onnx();
    const t: OnnxNs.ITensorProto = { name, dims: shape, dataType: ELEM[type] };
    if (type === 'float32') t.floatData = values;
    else if (type === 'float64') t.doubleData = values;
    else t.int64Data = values;
    this.inits.push(o.TensorProto.create(t));
    return name;
  }

  proto(): OnnxNs.GraphProto {
    return onnx().GraphProto.create({ name: this.name, node: this.nodes, input: this.inputs, output: this.outputs, initializer: this.inits });
  }

  model(): Uint8Array {
    const o = onnx();
    const graph = this.proto();
    return o.ModelProto.encode(o.ModelProto.create({ irVersion: IR_VERSION, opsetImport: [{ domain: '', version: OPSET }], producerName: 'pipeline', graph })).finish();
  }
}
