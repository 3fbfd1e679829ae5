#!/usr/bin/env node
// The `wa-gateway` bin: the compiled CLI (`npm run build` writes dist/; `npm install` runs it).
await import("../dist/src/cli/main.js");
