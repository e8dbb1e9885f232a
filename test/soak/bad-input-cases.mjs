// The bad-input matrix: inputs a user (or a hostile file) could give, each of which must end in
// exit 2 with a one-line message that says where (file:line, or the option), fast and small.
// Shared by test/soak/bad-inputs.mjs (all of them) and test/engine/bad-inputs.test.ts (a subset).

/** Toy stages: emit writes value.json only (for the outputs-fit check); source/sum for budgets. */
const STAGES = {
  'stages/source.ts': `export default {
  description: 'emits n',
  params: { n: { type: 'integer', doc: 'a number' }, seed: { type: 'integer', default: 0, doc: 'seed' }, x: { type: 'any', optional: true, doc: 'anything' } },
  outputs: ['value.json'],
  run({ params }) { return { 'value.json': { v: params.n } }; },
};
`,
  'stages/sum.ts': `export default {
  description: 'adds its inputs',
  params: {},
  inputs: { xs: { doc: 'nodes to add', gather: true } },
  run({ inputs }) { return { 'value.json': { v: inputs.xs.length } }; },
};
`,
};

const TOY = `title: toy
vars:
  factor: 2
sweep:
  n: [1, 2, 3]
  repeat: 2
stages:
  source:
    stage: source
    params:
      n: \${n}
      seed: \${repeat}
  total:
    stage: sum
    inputs:
      xs: [source]
`;

/** A 10^9-value "billion laughs": 9 levels of 10 aliases; `refs` is where it is used. */
function bomb(levels = 9) {
  const names = 'abcdefghijklmnop'.split('');
  const lines = [`  ${names[0]}: &${names[0]} [1, 1, 1, 1, 1, 1, 1, 1, 1, 1]`];
  for (let l = 1; l < levels; l++) lines.push(`  ${names[l]}: &${names[l]} [${Array(10).fill(`*${names[l - 1]}`).join(', ')}]`);
  return { vars: `vars:\n${lines.join('\n')}\n`, last: names[levels - 1] };
}

const gaussianConfig = (params, extra = '') => `${extra}stages:
  data:
    stage: gaussian
    params:
${params}
`;

const fileConfig = (path, extra = '') => `stages:
  data:
    stage: dataset-file
    params:
      path: ${path}
${extra}`;

const CONFIG_LOC = /configs\/t\.yml:\d+/;
const DATA = (f) => new RegExp(`data/${f.replace('.', '\\.')}:\\d+`);

/**
 * @typedef {object} BadInputCase
 * @property {string} name
 * @property {Record<string, string>} files project files (`../x` lands beside the project)
 * @property {string[]} args CLI arguments
 * @property {RegExp} where the location the one-line message must name
 * @property {RegExp} [says] something else it must say
 * @property {string} [secret] file contents it must not echo
 * @property {Record<string, string>} [links] symbolic links to make: path -> target
 * @property {Record<string, string>} [env] environment variables
 */

const B = bomb();
/** @type {BadInputCase[]} */
const cases = [];
const add = (name, files, args, where, extra = {}) => cases.push({ name, files: { ...STAGES, ...files }, args, where, ...extra });

// --- YAML alias bombs and size ---
add('alias bomb referenced by a param', { 'configs/t.yml': `${B.vars}stages:\n  s:\n    stage: source\n    params: { n: 1, seed: "\${${B.last}}" }\n` }, ['run', 't'], CONFIG_LOC);
add('alias bomb, plan', { 'configs/t.yml': `${B.vars}stages:\n  s:\n    stage: source\n    params: { n: 1, seed: "\${${B.last}}" }\n` }, ['plan', 't'], CONFIG_LOC);
add('alias bomb, show', { 'configs/t.yml': `${B.vars}${TOY.slice(TOY.indexOf('sweep:'))}` }, ['show', 't'], CONFIG_LOC);
add('alias bomb, graph', { 'configs/t.yml': `${B.vars}${TOY.slice(TOY.indexOf('sweep:'))}` }, ['graph', 't'], CONFIG_LOC);
add('alias bomb as a sweep axis', { 'configs/t.yml': `sweep:\n${bomb().vars.slice(6)}stages:\n  s:\n    stage: source\n    params: { n: 1 }\n` }, ['run', 't'], CONFIG_LOC);
add('alias bomb in an extends parent', { 'configs/_base.yml': B.vars, 'configs/t.yml': `extends: _base.yml\n${TOY.slice(TOY.indexOf('sweep:'))}` }, ['run', 't'], /configs\/_base\.yml:\d+/);
add('alias bomb in a --set value', { 'configs/t.yml': TOY }, ['run', 't', '--set', `factor=[&a [1,1,1,1,1,1,1,1,1,1], &b [*a,*a,*a,*a,*a,*a,*a,*a,*a,*a], &c [*b,*b,*b,*b,*b,*b,*b,*b,*b,*b], &d [*c,*c,*c,*c,*c,*c,*c,*c,*c,*c], &e [*d,*d,*d,*d,*d,*d,*d,*d,*d,*d], &f [*e,*e,*e,*e,*e,*e,*e,*e,*e,*e], &g [*f,*f,*f,*f,*f,*f,*f,*f,*f,*f]]`], /--set/);
add('config of 7 MB (a sweep of 10^6 literal values)', { 'configs/t.yml': `sweep:\n  n: [${Array.from({ length: 1e6 }, (_, i) => i).join(', ')}]\n${TOY.slice(TOY.indexOf('stages:'))}` }, ['run', 't'], CONFIG_LOC);
add('sweep axis of 100,000 values (590 KB)', { 'configs/t.yml': `sweep:\n  n: [${Array.from({ length: 1e5 }, (_, i) => i).join(',')}]\n${TOY.slice(TOY.indexOf('stages:'))}` }, ['run', 't'], CONFIG_LOC);

// --- the same bombs written with \${...}: vars that name vars ---
const varBomb = (value, ref) => {
  const lines = ['vars:', `  v0: ${value}`];
  for (let l = 1; l < 9; l++) lines.push(`  v${l}: ${ref(l - 1)}`);
  return `${lines.join('\n')}\nstages:\n  s:\n    stage: source\n    params: { n: 1, seed: "\${v8}" }\n`;
};
add('${} bomb: lists of vars', { 'configs/t.yml': varBomb('[1, 1, 1, 1, 1, 1, 1, 1, 1, 1]', (p) => `[${Array(10).fill(`"\${v${p}}"`).join(', ')}]`) }, ['run', 't'], CONFIG_LOC);
add('${} bomb: strings of vars', { 'configs/t.yml': varBomb('aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa', (p) => `"${`\${v${p}}`.repeat(10)}"`) }, ['run', 't'], CONFIG_LOC);
add('${} diamond: 10 vars a level naming all 10 below', {
  'configs/t.yml': `vars:\n${Array.from({ length: 100 }, (_, i) => {
    const [l, j] = [Math.floor(i / 10), i % 10];
    return `  a${l}_${j}: "${l ? Array.from({ length: 10 }, (_, k) => `\${a${l - 1}_${k}}`).join('') : 'x'}"`;
  }).join('\n')}\nstages:\n  s:\n    stage: source\n    params: { n: 1, seed: "\${a9_0}" }\n`,
}, ['run', 't'], CONFIG_LOC);
add('params of 5,000 values on 1,000 nodes', { 'configs/t.yml': `vars:\n  big: [${Array(5000).fill(1)}]\nsweep:\n  repeat: 1000\nstages:\n  s:\n    stage: source\n    params: { n: 1, seed: "\${repeat}", x: "\${big}" }\n` }, ['run', 't'], CONFIG_LOC, { says: /together/ });

// --- node and input budgets ---
add('sweep axis of 60,000 values', { 'configs/t.yml': `sweep:\n  n: [${Array.from({ length: 6e4 }, (_, i) => i % 10).join(',')}]\n${TOY.slice(TOY.indexOf('stages:'))}` }, ['run', 't'], CONFIG_LOC, { says: /budget/ });
add('repeat: 1000000', { 'configs/t.yml': TOY.replace('repeat: 2', 'repeat: 1000000') }, ['run', 't'], CONFIG_LOC);
add('repeat: 1e9', { 'configs/t.yml': TOY.replace('repeat: 2', 'repeat: 1e9') }, ['run', 't'], CONFIG_LOC);
add('repeat: 1e300', { 'configs/t.yml': TOY.replace('repeat: 2', 'repeat: 1e300') }, ['run', 't'], CONFIG_LOC);
add('repeat: .inf', { 'configs/t.yml': TOY.replace('repeat: 2', 'repeat: .inf') }, ['run', 't'], CONFIG_LOC);
add('repeat: -1', { 'configs/t.yml': TOY.replace('repeat: 2', 'repeat: -1') }, ['run', 't'], CONFIG_LOC);
add('repeat: 0', { 'configs/t.yml': TOY.replace('repeat: 2', 'repeat: 0') }, ['run', 't'], CONFIG_LOC);
add('--set repeat=1000000', { 'configs/t.yml': TOY }, ['run', 't', '--set', 'repeat=1000000'], CONFIG_LOC);
add('two axes of 300 values: 90,000 nodes', { 'configs/t.yml': `sweep:\n  n: [${Array.from({ length: 300 }, (_, i) => i)}]\n  m: [${Array.from({ length: 300 }, (_, i) => i)}]\nstages:\n  s:\n    stage: source\n    params: { n: "\${n}", seed: "\${m}" }\n` }, ['run', 't'], CONFIG_LOC, { says: /budget/ });
add('gathers of 2,000,000 inputs', { 'configs/t.yml': `sweep:\n  a: [${Array.from({ length: 2000 }, (_, i) => i)}]\n  b: [${Array.from({ length: 1000 }, (_, i) => i)}]\nstages:\n  s:\n    stage: source\n    params: { n: "\${a}" }\n  t:\n    stage: sum\n    over: [b]\n    inputs:\n      xs: [s]\n` }, ['run', 't'], CONFIG_LOC, { says: /inputs/ });
add('--max-nodes 5 on 9 nodes', { 'configs/t.yml': TOY }, ['run', 't', '--max-nodes', '5'], CONFIG_LOC);
add('--max-nodes 0', { 'configs/t.yml': TOY }, ['run', 't', '--max-nodes', '0'], /--max-nodes/);
add('--max-nodes lots', { 'configs/t.yml': TOY }, ['plan', 't', '--max-nodes', 'lots'], /--max-nodes/);
add('--max-nodes 10^12', { 'configs/t.yml': TOY }, ['plan', 't', '--max-nodes', '1000000000000'], /--max-nodes/);
add('PIPELINE_MAX_NODES=10^12', { 'configs/t.yml': TOY }, ['plan', 't'], /PIPELINE_MAX_NODES/, { env: { PIPELINE_MAX_NODES: '1000000000000' } });
add('PIPELINE_MAX_NODES=abc', { 'configs/t.yml': TOY }, ['run', 't'], /PIPELINE_MAX_NODES/, { env: { PIPELINE_MAX_NODES: 'abc' } });
add('PIPELINE_MAX_NODES=4', { 'configs/t.yml': TOY }, ['run', 't'], CONFIG_LOC, { env: { PIPELINE_MAX_NODES: '4' } });

// --- options ---
add('--jobs 1000', { 'configs/t.yml': TOY }, ['run', 't', '--jobs', '1000'], /--jobs/);
add('--jobs 0', { 'configs/t.yml': TOY }, ['run', 't', '--jobs', '0'], /--jobs/);
add('--jobs=-1', { 'configs/t.yml': TOY }, ['run', 't', '--jobs=-1'], /--jobs/);
add('--jobs 1.5', { 'configs/t.yml': TOY }, ['run', 't', '--jobs', '1.5'], /--jobs/);
add('--jobs 1e3', { 'configs/t.yml': TOY }, ['plan', 't', '--jobs', '1e3'], /--jobs/);
add('verify --jobs 1000', { 'configs/t.yml': TOY }, ['verify', '--jobs', '1000'], /--jobs/);
add('gc --keep-last 0', { 'configs/t.yml': TOY }, ['gc', '--keep-last', '0'], /--keep-last/);
add('gc --keep-last x', { 'configs/t.yml': TOY }, ['gc', '--keep-last', 'x'], /--keep-last/);
add('verify --sample 2', { 'configs/t.yml': TOY }, ['verify', '--sample', '2'], /--sample/);
add('verify --sample ""', { 'configs/t.yml': TOY }, ['verify', '--sample', ''], /--sample/);

// --- sizes memory makes impossible ---
add('N = 10^12', { 'configs/t.yml': gaussianConfig('      N: 1000000000000\n      d0: 2\n      seed: 1') }, ['run', 't'], CONFIG_LOC, { says: /56,?7\d\d|GiB/ });
add('--set N=10^12 through a sweep axis', { 'configs/t.yml': gaussianConfig('      N: ${N}\n      d0: 2\n      seed: 1', 'sweep:\n  N: [64]\n') }, ['run', 't', '--set', 'N=1000000000000'], CONFIG_LOC);
add('d0 = 10^12', { 'configs/t.yml': gaussianConfig('      N: 64\n      d0: 1000000000000\n      seed: 1') }, ['run', 't'], CONFIG_LOC);
add('N x d0 beyond memory', { 'configs/t.yml': gaussianConfig('      N: 50000\n      d0: 1000000\n      seed: 1') }, ['run', 't'], CONFIG_LOC);
add('N = a 200 KB string', { 'configs/t.yml': gaussianConfig(`      N: ${'7'.repeat(200_000)}x\n      d0: 2\n      seed: 1`) }, ['run', 't'], CONFIG_LOC, { says: /200001 characters/ });
add('N = 1e400 (infinity)', { 'configs/t.yml': gaussianConfig('      N: 1e400\n      d0: 2\n      seed: 1') }, ['run', 't'], CONFIG_LOC);
add('train h = 10^12', { 'configs/t.yml': `${gaussianConfig('      N: 64\n      d0: 2\n      seed: 1')}  net:\n    stage: train\n    inputs: { data: data }\n    params: { h: 1000000000000, seed: 1 }\n` }, ['run', 't'], CONFIG_LOC);
add('classifier hidden width 10^9', { 'configs/t.yml': `${gaussianConfig('      N: 64\n      d0: 2\n      seed: 1\n      means: [-2, 0, 2, 4]')}  net:\n    stage: classifier\n    inputs: { data: data }\n    params: { hidden: [1000000000], seed: 1 }\n` }, ['run', 't'], CONFIG_LOC);

// --- inputs wired to stages whose outputs do not fit ---
add('kernel fed by a stage that writes value.json', { 'configs/t.yml': 'stages:\n  s:\n    stage: source\n    params: { n: 1 }\n  k:\n    stage: kernel\n    inputs: { data: s }\n' }, ['run', 't'], CONFIG_LOC, { says: /source.*value\.json/ });
add('eos fed by a kernel', { 'configs/t.yml': `${gaussianConfig('      N: 64\n      d0: 2\n      seed: 1')}  k:\n    stage: kernel\n    inputs: { data: data }\n    params: { model: nngp }\n  e:\n    stage: eos\n    inputs: { data: k }\n` }, ['plan', 't'], CONFIG_LOC, { says: /"k" \(kernel\)/ });
add('train fed by nc1', { 'configs/t.yml': `${gaussianConfig('      N: 64\n      d0: 2\n      seed: 1')}  n:\n    stage: nc1\n    inputs: { data: data }\n  net:\n    stage: train\n    inputs: { data: n }\n    params: { seed: 1 }\n` }, ['plan', 't'], CONFIG_LOC);

// --- data files: garbage cells ---
const csv = (text, name = 'x.csv') => ({ 'configs/t.yml': fileConfig(`data/${name}`), [`data/${name}`]: text });
add('CSV empty cell', csv('a,b,label\n1,2,x\n3,,y\n'), ['run', 't'], DATA('x.csv'));
add('CSV hex 0x10', csv('a,b,label\n1,0x10,x\n3,4,y\n'), ['run', 't'], DATA('x.csv'));
add('CSV text in a numeric column', csv('a,b,label\n1,abc,x\n3,4,y\n'), ['run', 't'], DATA('x.csv'));
add('CSV NaN', csv('a,b,label\n1,NaN,x\n3,4,y\n'), ['run', 't'], DATA('x.csv'));
add('CSV Infinity', csv('a,b,label\n1,Infinity,x\n3,4,y\n'), ['run', 't'], DATA('x.csv'));
add('CSV 1e400', csv('a,b,label\n1,1e400,x\n3,4,y\n'), ['run', 't'], DATA('x.csv'));
add('CSV empty file', csv(''), ['run', 't'], DATA('x.csv'));
add('CSV header only', csv('a,b,label\n'), ['run', 't'], DATA('x.csv'));
add('CSV without a label column', csv('a,b,c\n1,2,3\n'), ['run', 't'], DATA('x.csv'));
add('CSV ragged line', csv('a,b,label\n1,2,x\n3,y\n'), ['run', 't'], DATA('x.csv'));
add('CSV empty label', csv('a,b,label\n1,2,x\n3,4,\n'), ['run', 't'], DATA('x.csv'));
add('CSV one class', csv('a,b,label\n1,2,x\n3,4,x\n'), ['run', 't'], /data\/x\.csv: /);
add('CSV binary garbage', csv('\u0000\u0001\u0002,\u00ff\n\u0003,4\n'), ['run', 't'], DATA('x.csv'));
const json = (text) => ({ 'configs/t.yml': fileConfig('data/x.json'), 'data/x.json': text });
add('JSON null in X', json('{"X": [[1, 2],\n [null, 3]], "y": [0, 1]}'), ['run', 't'], DATA('x.json'));
add('JSON "abc" in X', json('{"X": [[1, 2],\n [4, "abc"]], "y": [0, 1]}'), ['run', 't'], DATA('x.json'));
add('JSON 1e400 in X', json('{"X": [[1, 2], [4, 1e400]], "y": [0, 1]}'), ['run', 't'], DATA('x.json'));
add('JSON empty file', json(''), ['run', 't'], DATA('x.json'));
add('JSON syntax error', json('{"X": [[1, 2],\n [4, 5]] "y": [0, 1]}'), ['run', 't'], DATA('x.json'));
add('JSON null label', json('{"X": [[1, 2], [4, 5]], "y": [0, null]}'), ['run', 't'], DATA('x.json'));
add('JSON class_sizes do not sum to the rows', json('{"X": [[1, 2], [4, 5]], "class_sizes": [1, 2]}'), ['run', 't'], DATA('x.json'));
add('JSON ragged rows', json('{"X": [[1, 2], [4]], "y": [0, 1]}'), ['run', 't'], DATA('x.json'));
add('JSON unknown key', json('{"X": [[1, 2], [4, 5]], "y": [0, 1], "class_size": [1, 1]}'), ['run', 't'], DATA('x.json'));
add('JSON a list, not an object', json('[[1, 2], [4, 5]]'), ['run', 't'], DATA('x.json'));
add('JSON deeply nested', json(`${'['.repeat(100000)}${']'.repeat(100000)}`), ['run', 't'], DATA('x.json'));
add('targets of the wrong length', { ...csv('a,label\n1,x\n2,y\n'), 'configs/t.yml': fileConfig('data/x.csv', '      targets: [-1, 0, 1]\n') }, ['run', 't'], CONFIG_LOC);

// --- data files outside the project ---
const SECRET = 'root:x:0:0';
add('data path ../outside.csv (the file exists)', { 'configs/t.yml': fileConfig('../outside.csv'), '../outside.csv': 'a,label\n1,x\n2,y\n' }, ['run', 't'], CONFIG_LOC);
add('data path ../../../../etc/passwd', { 'configs/t.yml': fileConfig('../../../../etc/passwd') }, ['run', 't'], CONFIG_LOC, { secret: SECRET });
add('absolute data path in a config', { 'configs/t.yml': fileConfig('/etc/passwd') }, ['run', 't'], CONFIG_LOC, { secret: SECRET });
add('/proc/self/environ in a config', { 'configs/t.yml': fileConfig('/proc/self/environ') }, ['run', 't'], CONFIG_LOC);
add('symlink inside the project to /etc/passwd', { 'configs/t.yml': fileConfig('data/link.csv') }, ['run', 't'], CONFIG_LOC, { links: { 'data/link.csv': '/etc/passwd' }, secret: SECRET });
add('symlinked data folder pointing outside', { 'configs/t.yml': fileConfig('data/etc/passwd') }, ['run', 't'], CONFIG_LOC, { links: { 'data/etc': '/etc' }, secret: SECRET });
add('--set path=/etc/passwd: read, never echoed', { 'configs/t.yml': fileConfig('data/x.csv'), 'data/x.csv': 'a,label\n1,x\n2,y\n' }, ['run', 't', '--set', 'stages.data.params.path=/etc/passwd'], /\/etc\/passwd:\d+/, { secret: SECRET });
add('data path is a folder', { 'configs/t.yml': fileConfig('data'), 'data/x.csv': '' }, ['run', 't'], CONFIG_LOC);
add('data file missing', { 'configs/t.yml': fileConfig('data/missing.csv') }, ['run', 't'], CONFIG_LOC);

// --- targets, extends, include ---
add('run ..', { 'configs/t.yml': TOY }, ['run', '..'], /<target>/);
add('run .', { 'configs/t.yml': TOY }, ['run', '.'], /<target>/);
add('plan ../t', { 'configs/t.yml': TOY }, ['plan', '../t'], /<target>/);
add('run -x (a name that looks like an option)', { 'configs/t.yml': TOY }, ['graph', '--', '-x'], /<target>/);
add('verify ..', { 'configs/t.yml': TOY }, ['verify', '..'], /\[target\]/);
add('a config named ...yml (target "..")', { 'configs/t.yml': TOY, 'configs/...yml': TOY }, ['run', 'configs/...yml'], /configs\/\.\.\.yml/);
add('alias ".."', { 'configs/t.yml': `aliases: [".."]\n${TOY}` }, ['run', 't'], CONFIG_LOC);
add('extends: ../../../../etc/passwd', { 'configs/t.yml': `extends: ../../../../etc/passwd\n${TOY}` }, ['run', 't'], CONFIG_LOC, { secret: SECRET });
add('extends an absolute path outside', { 'configs/t.yml': `extends: /etc/hostname.yml\n${TOY}` }, ['run', 't'], CONFIG_LOC);
add('extends through a symlink outside', { 'configs/t.yml': `extends: base.yml\n${TOY}` }, ['run', 't'], CONFIG_LOC, { links: { 'configs/base.yml': '/etc/passwd' }, secret: SECRET });
add('include a config outside the project', { 'configs/t.yml': `include: [../elsewhere.yml]\n${TOY}`, '../elsewhere.yml': TOY }, ['run', 't'], CONFIG_LOC);
add('include ".."', { 'configs/t.yml': `include: [".."]\n${TOY}` }, ['run', 't'], CONFIG_LOC);

// --- prototype keys ---
add('__proto__ under vars', { 'configs/t.yml': TOY.replace('  factor: 2', '  factor: 2\n  __proto__: { polluted: 1 }') }, ['run', 't'], CONFIG_LOC);
add('constructor as a stage param', { 'configs/t.yml': TOY.replace('      seed: ${repeat}', '      seed: ${repeat}\n      constructor: 1') }, ['run', 't'], CONFIG_LOC);
add('prototype under sweep', { 'configs/t.yml': TOY.replace('  repeat: 2', '  repeat: 2\n  prototype: [1]') }, ['run', 't'], CONFIG_LOC);
add('__proto__ in a profile', { 'configs/t.yml': `${TOY}profiles:\n  quick:\n    __proto__: { x: 1 }\n` }, ['run', 't', '--profile', 'quick'], CONFIG_LOC);
add('--set vars.__proto__.activation=relu', { 'configs/t.yml': TOY }, ['run', 't', '--set', 'vars.__proto__.activation=relu'], /--set/);
add('--set __proto__=1', { 'configs/t.yml': TOY }, ['run', 't', '--set', '__proto__=1'], /--set/);
add('--set stages.source.params.constructor.x=1', { 'configs/t.yml': TOY }, ['run', 't', '--set', 'stages.source.params.constructor.x=1'], /--set/);
add('--set value holding a __proto__ key', { 'configs/t.yml': TOY }, ['run', 't', '--set', 'factor={__proto__: {polluted: 1}}'], /--set/);
add('${constructor} as a reference', { 'configs/t.yml': TOY.replace('n: ${n}', 'n: ${constructor}') }, ['run', 't'], CONFIG_LOC);
add('--set with an empty key part', { 'configs/t.yml': TOY }, ['run', 't', '--set', 'stages..x=1'], /--set/);

export default cases;
