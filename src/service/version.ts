// rokv's own version, read once from package.json (two levels up from src/ and dist/ alike).

import fs from 'node:fs';

export const ROKV_VERSION: string = JSON.parse(
  fs.readFileSync(new URL('../../package.json', import.meta.url), 'utf8'),
).version;
