import { writeFileSync } from 'node:fs';
import { capabilities } from './index.js';
import { renderOpenApi } from './openapi.js';

writeFileSync(new URL('../../../docs/openapi.json', import.meta.url), renderOpenApi(capabilities));
process.stdout.write('wrote docs/openapi.json\n');
