import type { Scenario } from '../lib/scenario.js';
import { catalog } from './catalog.js';
import { drop } from './drop.js';
import { flashHot } from './flash-hot.js';
import { flashSteady } from './flash-steady.js';
import { holds } from './holds.js';
import { memory } from './memory.js';
import { overload } from './overload.js';
import { scale } from './scale.js';
import { soldoutStorm } from './soldout-storm.js';

/** Every scenario, in the order `npm run bench` runs them (issue 3's list, flash-steady for comparing changes, overload for load shedding). */
export const scenarios: readonly Scenario[] = [flashHot, flashSteady, catalog, holds, soldoutStorm, scale, memory, overload, drop];
