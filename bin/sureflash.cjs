#!/usr/bin/env node
'use strict';
// The `sureflash` command: runs the built CLI bundle (built by `npm install` through the prepare script).
const { existsSync } = require('node:fs');
const { join } = require('node:path');
const cli = join(__dirname, '..', 'dist', 'main', 'cli.cjs');
if (!existsSync(cli)) {
  process.stderr.write('sureflash: error: the CLI is not built; run `npm run build` in the Sureflash folder\n');
  process.exit(2);
}
require(cli);
