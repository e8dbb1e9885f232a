/** train's params: seed is required only when init does not give the weights. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import train from '../../stages/train.ts';
import { checkParams } from '../helpers/stage.ts';

test('seed may be left out when init gives the weights, not otherwise', () => {
  assert.is(checkParams(train, { init: 'w.json' }), undefined);
  assert.is(checkParams(train, { seed: 3 }), undefined);
  assert.match(checkParams(train, {}) ?? '', /^seed: required/);
});

test.run();
