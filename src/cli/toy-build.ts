/** `npm run toy:build [-- --seed N --minutes M --out DIR]`: see toy-builder.ts. */
import { runScript } from './args.ts';
import { buildToyModel, toyBuildUsage } from './toy-builder.ts';

runScript('toy:build', toyBuildUsage, buildToyModel);
